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


class _Block:
    def __init__(self, text: str) -> None:
        self.text = text
        self.dumped = 0

    def model_dump(self, mode: str) -> dict:
        self.dumped += 1
        return {"type": "text", "text": self.text}


def test_result_blocks_are_dumped_only_when_captured(monkeypatch):
    block = _Block(f"the key is {SECRET}")
    monkeypatch.setattr(content, "_override", False)
    assert content.render_blocks([block]) is None and block.dumped == 0
    monkeypatch.setattr(content, "_override", True)
    text = content.render_blocks([block])
    assert block.dumped == 1 and '"type": "text"' in text and SECRET not in text and "[REDACTED" in text
