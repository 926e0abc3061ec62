"""The HTTP service over loopback: same records as predict.py, 4xx with one-line reasons, limits, the script."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager

import pytest

from newsclf import workflows
from newsclf.inference.predictor import Predictor
from newsclf.inference.server import make_server
from tests.conftest import ROOT, SEED_ARTICLE
from tests.unit.test_predictor import train_tiny


@pytest.fixture(scope="module")
def topic(tmp_path_factory):
    return train_tiny(tmp_path_factory.mktemp("serve_topic"))


@contextmanager
def running(predictor, **limits):
    server = make_server(predictor, "127.0.0.1", 0, **limits)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def request(server_or_port, method, path, body=None, headers=None):
    port = server_or_port if isinstance(server_or_port, int) else server_or_port.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=headers or {})
    resp = conn.getresponse()
    payload = json.loads(resp.read().decode())
    conn.close()
    return resp.status, payload


def seed_record_from_predict_py(compose_cfg, ckpt, tmp_path):
    out = tmp_path / "seed.jsonl"
    workflows.predict(compose_cfg("predict", [f"checkpoint={ckpt}", f"input={SEED_ARTICLE}", f"output={out}"]))
    (rec,) = [json.loads(line) for line in out.read_text().splitlines()]
    return rec


SEED_DOC = {"id": SEED_ARTICLE.stem, "text": SEED_ARTICLE.read_text(encoding="utf-8")}


def test_seed_article_same_record_as_predict_py(topic, compose_cfg, tmp_path):
    ckpt, _ = topic
    expected = seed_record_from_predict_py(compose_cfg, ckpt, tmp_path)
    with running(Predictor.from_checkpoint(ckpt)) as server:
        status, got = request(server, "POST", "/predict", SEED_DOC)
        assert (status, got) == (200, expected)
        status, got = request(server, "POST", "/predict", [SEED_DOC, {**SEED_DOC, "id": "copy"}])
        assert status == 200 and got[0] == expected and got[1] == {**expected, "id": "copy"}
        status, health = request(server, "GET", "/health")
        assert status == 200 and health["status"] == "ok"
        assert (health["model"], health["checkpoint"]) == (expected["model"], expected["checkpoint"])


def test_bad_requests_get_4xx_with_one_line_reason(topic):
    ckpt, _ = topic
    cases = [("POST", "/predict", b"{not json", 400, "not valid JSON"),
             ("POST", "/predict", b"\xff\xfe", 400, "UTF-8"),
             ("POST", "/predict", b"[]", 400, "empty list"),
             ("POST", "/predict", b"42", 400, "JSON object"),
             ("POST", "/predict", {"title": "no text"}, 422, "missing field 'text'"),
             ("POST", "/predict", [{"text": "a b"}, 3], 400, r"body\[1\]: expected a JSON object"),
             ("POST", "/predict", [{"id": 1, "text": "a b"}, {"id": 1, "text": "c d"}], 422, "duplicate id"),
             ("POST", "/predict", {"text": "x\u0000y"}, 422, "NUL"),
             ("POST", "/predict", [{"text": "a b"}] * 4, 413, "at most 3"),
             ("POST", "/predict", {"text": "x" * 3000}, 413, "at most 2,048"),
             ("GET", "/predict", None, 404, "no such endpoint"),
             ("POST", "/health", {"text": "a b"}, 404, "no such endpoint"),
             ("DELETE", "/predict", None, 405, "use GET /health or POST /predict")]
    with running(Predictor.from_checkpoint(ckpt), max_request_bytes=2048, max_documents=3) as server:
        for method, path, body, status, reason in cases:
            got_status, payload = request(server, method, path, body)
            assert got_status == status, (body, payload)
            assert list(payload) == ["error"] and "\n" not in payload["error"]
            assert re.search(reason, payload["error"]), payload
        # the server still answers after all of that
        assert request(server, "POST", "/predict", {"text": "shares market profit"})[0] == 200


def test_repeated_id_found_after_the_ids_left_memory_is_422(topic, monkeypatch):
    from newsclf.data import readers

    monkeypatch.setattr(readers, "IDS_RECENT", 2)
    monkeypatch.setattr(readers, "IDS_IN_MEMORY", 2)  # every second id goes to disk: checked when the list ends
    docs = [{"id": i, "text": "shares market profit"} for i in range(9)] + [{"id": 0, "text": "again"}]
    with running(Predictor.from_checkpoint(topic[0])) as server:
        status, payload = request(server, "POST", "/predict", docs)
        assert status == 422 and payload["error"] == "body[9]: duplicate id (first seen at body[0])"
        status, payload = request(server, "POST", "/predict", docs[:-1])
        assert status == 200 and [r["id"] for r in payload] == list(range(9))


def test_missing_content_length_is_411(topic):
    with running(Predictor.from_checkpoint(topic[0])) as server, \
            socket.create_connection(server.server_address[:2], timeout=30) as sock:
        sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 411") and b"Content-Length" in body


def test_transformer_checkpoint_seed_article(compose_cfg, tmp_path):
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    try:
        ckpt, _ = train_tiny(tmp_path, model="tiny_transformer", extra=["model.epochs=1"])
        expected = seed_record_from_predict_py(compose_cfg, ckpt, tmp_path)
        with running(Predictor.from_checkpoint(ckpt)) as server:
            assert request(server, "POST", "/predict", SEED_DOC) == (200, expected)
    finally:
        torch.set_num_threads(threads)  # tiny_transformer trains on one thread


def test_serve_script_over_loopback(topic, compose_cfg, tmp_path):
    ckpt, _ = topic
    expected = seed_record_from_predict_py(compose_cfg, ckpt, tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve.py"), f"checkpoint={ckpt}", "port=0",
                             "log_requests=false"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    try:
        line = proc.stdout.readline()  # "serving CKPT (tfidf.v1) on http://127.0.0.1:PORT"
        assert "http://127.0.0.1:" in line, proc.stderr.read() if proc.poll() is not None else line
        port = int(line.rsplit(":", 1)[1])
        assert request(port, "POST", "/predict", SEED_DOC) == (200, expected)
        assert request(port, "GET", "/health")[1]["checkpoint"] == expected["checkpoint"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_script_bad_checkpoint_is_one_line_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "serve.py"), f"checkpoint={tmp_path / 'nope'}",
                           "port=0"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "does not exist" in proc.stderr
