"""`.env` parsing: every syntax case, malformed lines as problems with file:line, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from evodiag.envfiles import EnvFileError, parse_dotenv, parse_dotenv_text


@pytest.fixture
def basic(fixtures: Path):
    return parse_dotenv(fixtures / "basic.env")


def test_values(basic) -> None:
    v = basic.values()
    assert v["SERVER_URL"] == "https://evo.example.com"
    assert v["AUTHENTICATION_API_KEY"] == "abc123"  # export prefix
    assert v["SPACED"] == "spaced value"  # spaces around '=' and trailing spaces
    assert v["EMPTY"] == ""
    assert v["SINGLE"] == r"literal \n $HOME # not a comment"  # single quotes are literal
    assert v["DOUBLE"] == 'line1\nline2 "quoted" $HOME'  # double quotes process escapes
    assert v["INLINE"] == "value"
    assert v["HASH"] == "abc#def"  # '#' glued to text is not a comment
    assert v["ONLY_COMMENT"] == ""
    assert v["DOUBLE_COMMENT"] == "kept # inside"
    assert v["MULTI"] == "first\nsecond"
    assert v["AFTER_MULTI"] == "ok"
    assert v["TABBED"] == "tab indented"
    assert v["URL"] == "postgresql://user:p@ss@db:5432/evo?schema=public"


def test_lines_and_quotes(basic) -> None:
    assert basic.get("SERVER_URL").line == 3
    assert basic.get("AUTHENTICATION_API_KEY").line == 4
    assert basic.get("MULTI").line == 13  # a multi-line value keeps the line it starts on
    assert basic.get("AFTER_MULTI").line == 15
    assert basic.get("SINGLE").quote == "'"
    assert basic.get("DOUBLE").quote == '"'
    assert basic.get("INLINE").quote == ""
    assert basic.get("SERVER_URL").origin.endswith("basic.env:3")


def test_duplicates_last_wins(basic) -> None:
    assert basic.get("DUP").value == "second"
    assert basic.get("DUP").line == 22
    assert [v.line for v in basic.duplicates()["DUP"]] == [21, 22]


def test_malformed_lines_are_problems(basic) -> None:
    got = [(p.line, p.code) for p in basic.problems]
    assert got == [
        (16, "no-equals"),
        (17, "bad-name"),
        (18, "bad-name"),
        (19, "unterminated-quote"),
        (20, "trailing-text"),
    ]
    for p in basic.problems:
        assert "\n" not in p.message
        assert str(p).startswith(f"{basic.path}:{p.line}: ")
    # the unterminated quote did not swallow the next assignment
    assert basic.get("TRAILING").value == "value"
    assert "UNTERMINATED" not in basic


def test_unterminated_quote_at_eof() -> None:
    env = parse_dotenv_text("A=1\nB='open\nC=3\n", "x.env")
    assert [(p.line, p.code) for p in env.problems] == [(2, "unterminated-quote")]
    assert env.values() == {"A": "1", "C": "3"}


def test_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "win.env"
    path.write_bytes(b'\xef\xbb\xbfFIRST=one\r\nSECOND="two"\r\n# c\r\nTHIRD=three # x\r\n')
    env = parse_dotenv(path)
    assert env.had_bom and env.crlf
    assert env.values() == {"FIRST": "one", "SECOND": "two", "THIRD": "three"}
    assert env.get("THIRD").line == 4
    assert env.problems == []


def test_invalid_utf8_is_replaced_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.env"
    path.write_bytes(b"OK=1\nNAME=Jo\xe3o\nAFTER=2\n")
    env = parse_dotenv(path)
    assert env.invalid_utf8
    assert env.get("NAME").value == "Jo\ufffdo"
    assert env.get("AFTER").value == "2"
    assert [(p.line, p.code) for p in env.problems] == [(2, "invalid-utf8")]


def test_interpolation_opt_in() -> None:
    text = "HOST=evo.example.com\nURL=https://${HOST}/x\nLIT='${HOST}'\nESC=\"\\${HOST}\"\nPW=ab$cd\n"
    plain = parse_dotenv_text(text)
    assert plain.get("URL").value == "https://${HOST}/x"
    env = parse_dotenv_text(text, "i.env", interpolate=True, environ={})
    assert env.get("URL").value == "https://evo.example.com/x"
    assert env.get("URL").template == "https://${HOST}/x" and env.get("URL").interpolated
    assert env.get("LIT").value == "${HOST}"  # single quotes: no interpolation
    assert env.get("ESC").value == "${HOST}"  # \$ escapes
    assert env.get("PW").value == "ab"  # the classic unquoted-$ password trap...
    assert [(p.line, p.code) for p in env.problems] == [(5, "unset-variable")]  # ...is reported


def test_missing_file_raises_one_line(tmp_path: Path) -> None:
    with pytest.raises(EnvFileError) as err:
        parse_dotenv(tmp_path / "nope.env")
    assert str(err.value) == f"{tmp_path / 'nope.env'}: file not found"
    with pytest.raises(EnvFileError, match="is a directory"):
        parse_dotenv(tmp_path)
