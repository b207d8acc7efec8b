"""The minimal S3 lab: listing, object round trip, mutating flag, latency and failure knobs."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from evodiag.lab.s3 import S3Lab


def test_list_put_head_get(serve: Callable) -> None:
    lab = S3Lab()
    lab.put("evolution", "media/a.jpg", b"\xff\xd8jpeg", "image/jpeg")
    url = serve(lab)
    with httpx.Client(base_url=url) as c:
        r = c.get("/")
        assert r.status_code == 200 and "<Name>evolution</Name>" in r.text
        assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult')
        put = c.put("/evolution/media/b.txt", content=b"hello", headers={"Content-Type": "text/plain"})
        assert put.status_code == 200 and put.headers["etag"] == '"5d41402abc4b2a76b9719d911017c592"'
        head = c.head("/evolution/media/b.txt")
        assert head.status_code == 200 and head.headers["content-length"] == "5" and head.content == b""
        assert c.get("/evolution/media/b.txt").content == b"hello"
        listing = c.get("/evolution", params={"list-type": "2", "prefix": "media/"})
        assert "<KeyCount>2</KeyCount>" in listing.text and "<Key>media/a.jpg</Key>" in listing.text
        missing = c.get("/evolution/nope")
        assert missing.status_code == 404 and "<Code>NoSuchKey</Code>" in missing.text
        assert c.get("/other", params={"list-type": "2"}).status_code == 404
    assert [e.method for e in lab.requests(mutating=True)] == ["PUT"]
    assert len(lab.requests(mutating=False)) == 6


def test_failure_rate_and_latency(serve: Callable) -> None:
    lab = S3Lab(failure_rate=1.0, latency_ms=50)
    url = serve(lab)
    t0 = time.perf_counter()
    r = httpx.put(f"{url}/evolution/x", content=b"data")
    assert time.perf_counter() - t0 >= 0.05
    assert r.status_code == 503 and "<Code>SlowDown</Code>" in r.text
    assert lab.buckets["evolution"] == {}  # a failed PUT changes nothing
    assert lab.log[-1].status == 503 and lab.log[-1].mutates
    half = S3Lab(failure_rate=0.5, seed=7)
    url = serve(half)
    with httpx.Client() as client:
        codes = [client.get(f"{url}/").status_code for _ in range(40)]
    assert 5 < codes.count(503) < 35 and codes.count(200) + codes.count(503) == 40
