from agentloupe.instrumentation import content

SECRET = "sk-proj-abcdefghijklmnop1234"


def test_capture_off_records_nothing(monkeypatch):
    monkeypatch.setattr(content, "_override", None)
    monkeypatch.delenv(content.CAPTURE_ENV, raising=False)
    assert content.render({"prompt": "hello"}) is None


def test_capture_on_redacts_keys_headers_and_emails(monkeypatch):
    monkeypatch.setattr(content, "_override", True)
    text = content.render({"q": f"key {SECRET}", "headers": "Authorization: Bearer abcdefghijklmno", "to": "ann@example.com"})
    assert SECRET not in text
    assert "abcdefghijklmno" not in text
    assert "ann@example.com" not in text
    assert "[REDACTED" in text


def test_capture_is_size_capped(monkeypatch):
    monkeypatch.setattr(content, "_override", True)
    text = content.render("x" * 10_000)
    assert len(text) < content.MAX_CHARS + 100 and "truncated" in text
