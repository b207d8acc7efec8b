"""A minimal S3-compatible object store (MinIO stand-in) for the lab.

Why: Evolution API stores media in S3/MinIO, and a slow or flaky bucket shows up as missing media or slow
webhooks. evodiag's probes only need to reach the store, list a bucket and HEAD/GET an object; this lab
offers exactly that, with per-request latency (from :class:`LabApp`) and a failure-rate knob, so a probe's
timeouts and retries can be tested. Signatures are not checked: the lab is about reachability and timing.

Routes: ``GET /`` (ListAllMyBuckets), ``GET /{bucket}?list-type=2`` (ListObjectsV2), ``HEAD``/``GET``
``/{bucket}/{key}``, ``PUT /{bucket}/{key}`` (the only mutating route; the request log marks it).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from xml.sax.saxutils import escape

from evodiag.httpserver import Request, Response
from evodiag.lab.base import LabApp, RouteHandler

_XML = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _xml(body: str, status: int = 200) -> Response:
    return Response.text(_XML + body, status, content_type="application/xml")


def s3_error(code: str, message: str, status: int, resource: str = "") -> Response:
    res = f"<Resource>{escape(resource)}</Resource>" if resource else ""
    return _xml(f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{res}"
                "<RequestId>lab</RequestId></Error>", status)


@dataclass
class StoredObject:
    data: bytes
    content_type: str
    modified: float

    @property
    def etag(self) -> str:
        return '"' + hashlib.md5(self.data).hexdigest() + '"'


@dataclass
class S3Lab(LabApp):
    """``buckets`` maps bucket name → {key → object}; ``failure_rate`` (0–1) answers that share of requests
    with ``503 SlowDown``, drawn from a seeded RNG so tests are repeatable."""

    name: str = "s3"
    buckets: dict[str, dict[str, StoredObject]] = field(default_factory=lambda: {"evolution": {}})
    failure_rate: float = 0.0
    seed: int = 0
    clock_start: float = 1_717_600_000.0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        self._rng.seed(self.seed)
        self.route("GET", "/", self._flaky(self._list_buckets))
        self.route("GET", "/{bucket}", self._flaky(self._list_objects))
        self.route("GET", "/{bucket}/", self._flaky(self._list_objects))
        # Object keys may contain '/', which LabApp's {name} placeholders do not match: add these routes
        # with their own pattern.
        obj = r"^/(?P<bucket>[^/]+)/(?P<key>.+)$"
        for method, handler, mutates in (("HEAD", self._get_object, False), ("GET", self._get_object, False),
                                         ("PUT", self._put_object, True)):
            self.route_regex(method, obj, self._flaky(handler), name="/{bucket}/{key+}", mutates=mutates)

    def _flaky(self, handler: RouteHandler) -> RouteHandler:
        """Fail a ``failure_rate`` share of requests with 503 SlowDown *before* the handler runs, so a
        failed PUT changes nothing (the request log still records the attempt and its 503)."""

        async def wrapped(request: Request, **params: str) -> Response:
            if self.failure_rate and self._rng.random() < self.failure_rate:
                return s3_error("SlowDown", "Please reduce your request rate.", 503, request.path)
            return await handler(request, **params)

        return wrapped

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Seed an object directly (no request logged)."""
        self.buckets.setdefault(bucket, {})[key] = StoredObject(data, content_type, self.clock_start)

    async def _list_buckets(self, request: Request) -> Response:
        items = "".join(f"<Bucket><Name>{escape(b)}</Name><CreationDate>2024-06-05T00:00:00.000Z"
                        "</CreationDate></Bucket>" for b in sorted(self.buckets))
        return _xml(f'<ListAllMyBucketsResult xmlns="{_NS}"><Owner><ID>lab</ID><DisplayName>lab</DisplayName>'
                    f"</Owner><Buckets>{items}</Buckets></ListAllMyBucketsResult>")

    async def _list_objects(self, request: Request, bucket: str) -> Response:
        objects = self.buckets.get(bucket)
        if objects is None:
            return s3_error("NoSuchBucket", "The specified bucket does not exist", 404, f"/{bucket}")
        prefix = request.query.get("prefix", "")
        try:
            max_keys = int(request.query.get("max-keys", "1000"))
        except ValueError:
            return s3_error("InvalidArgument", "max-keys must be an integer", 400, f"/{bucket}")
        keys = sorted(k for k in objects if k.startswith(prefix))
        shown = keys[:max_keys]
        contents = "".join(
            f"<Contents><Key>{escape(k)}</Key><LastModified>{_iso(objects[k].modified)}</LastModified>"
            f"<ETag>{escape(objects[k].etag)}</ETag><Size>{len(objects[k].data)}</Size>"
            "<StorageClass>STANDARD</StorageClass></Contents>" for k in shown)
        truncated = "true" if len(keys) > len(shown) else "false"
        return _xml(f'<ListBucketResult xmlns="{_NS}"><Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}'
                    f"</Prefix><KeyCount>{len(shown)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>"
                    f"<IsTruncated>{truncated}</IsTruncated>{contents}</ListBucketResult>")

    async def _get_object(self, request: Request, bucket: str, key: str) -> Response:
        objects = self.buckets.get(bucket)
        if objects is None:
            return s3_error("NoSuchBucket", "The specified bucket does not exist", 404, f"/{bucket}")
        obj = objects.get(key)
        if obj is None:
            return s3_error("NoSuchKey", "The specified key does not exist.", 404, f"/{bucket}/{key}")
        # HEAD: the server core sends headers only, with Content-Length of the full object.
        return Response(200, obj.data, {"Content-Type": obj.content_type, "ETag": obj.etag,
                                        "Last-Modified": formatdate(obj.modified, usegmt=True)})

    async def _put_object(self, request: Request, bucket: str, key: str) -> Response:
        if bucket not in self.buckets:
            return s3_error("NoSuchBucket", "The specified bucket does not exist", 404, f"/{bucket}")
        obj = StoredObject(request.body, request.header("content-type") or "application/octet-stream",
                           self.clock_start)
        self.buckets[bucket][key] = obj
        return Response(200, b"", {"ETag": obj.etag})


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
