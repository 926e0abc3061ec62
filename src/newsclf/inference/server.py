"""A small HTTP service around one :class:`~newsclf.inference.predictor.Predictor` (standard library only).

Endpoints::

    GET  /health    {"status": "ok", "model": "tfidf.v1", "checkpoint": "...", "task": ..., "labels": [...]}
    POST /predict   body: one document object or a list of them (JSON, the fields predict.py reads from JSONL:
                    ``title``/``text`` or ``headline``/``body``, optional ``id``); answer: one record or a list,
                    the same records predict.py writes.

A bad request gets a 4xx status and ``{"error": "<one line>"}``. The body is parsed as JSON whatever its
Content-Type says (``curl -d`` sends form encoding). Bodies must declare their length and stay
under ``max_request_bytes``; a list holds at most ``max_documents``. The model is called by one request at a
time (its threads already use the cores); connections are handled in threads, so a slow client does not
block the others. It binds to 127.0.0.1 unless told otherwise: there is no authentication.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from newsclf.data.readers import MAX_DOC_CHARS, _Normalizer
from newsclf.errors import NewsclfError
from newsclf.inference.predictor import Predictor

log = logging.getLogger("newsclf.serve")
MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_DOCUMENTS = 1000


class RequestError(Exception):
    """A client mistake: HTTP status and a one-line reason."""

    def __init__(self, status: HTTPStatus, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, " ".join(str(reason).split())


class PredictionServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` holding the predictor and the request limits."""

    daemon_threads = True  # a stuck connection never keeps the process alive at shutdown
    allow_reuse_address = True

    def __init__(self, predictor: Predictor, host: str = "127.0.0.1", port: int = 8000,
                 max_request_bytes: int = MAX_REQUEST_BYTES, max_documents: int = MAX_DOCUMENTS,
                 timeout_s: float = 30.0):
        self.predictor = predictor
        self.max_request_bytes = int(max_request_bytes)
        self.max_documents = int(max_documents)
        self.timeout_s = float(timeout_s)
        self.model_lock = threading.Lock()
        super().__init__((host, int(port)), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def predict_body(self, body: bytes) -> dict | list:
        """Parse, validate and predict one request body (raises :class:`RequestError`)."""
        try:
            payload = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as e:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid UTF-8 (byte {e.start})") from None
        except json.JSONDecodeError as e:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body is not valid JSON ({e.msg} at column {e.colno})") from None
        single = isinstance(payload, dict)
        docs = [payload] if single else payload
        if not isinstance(docs, list):
            raise RequestError(HTTPStatus.BAD_REQUEST, "body must be a JSON object (one document) or a list of "
                                                       f"objects, found {type(payload).__name__}")
        if not docs:
            raise RequestError(HTTPStatus.BAD_REQUEST, "body is an empty list; send at least one document")
        if len(docs) > self.max_documents:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"{len(docs)} documents in one request; at most {self.max_documents}")
        norm = _Normalizer(self.predictor.input_kind, None, None, "id", MAX_DOC_CHARS)
        records = []
        for i, doc in enumerate(docs):
            where = "body" if single else f"body[{i}]"
            if not isinstance(doc, dict):
                raise RequestError(HTTPStatus.BAD_REQUEST, f"{where}: expected a JSON object, found {type(doc).__name__}")
            try:
                records.append(norm(doc, where))
            except NewsclfError as e:
                norm.seen_ids.close()
                raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, str(e)) from None
        try:
            norm.seen_ids.finish()  # a no-op unless max_documents lets the ids outgrow memory
        except NewsclfError as e:
            raise RequestError(HTTPStatus.UNPROCESSABLE_ENTITY, str(e)) from None
        with self.model_lock:
            out = self.predictor.predict(records)
        return out[0] if single else out


class Handler(BaseHTTPRequestHandler):
    server: PredictionServer
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse the connection for many requests
    server_version = "newsclf"

    def setup(self) -> None:
        self.timeout = self.server.timeout_s  # a client that stops sending cannot hold a thread for ever
        super().setup()

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?")[0] != "/health":
            return self._error(RequestError(HTTPStatus.NOT_FOUND, f"no such endpoint {self.path!r}; "
                                                                  "use GET /health or POST /predict"))
        self._send(HTTPStatus.OK, {"status": "ok", **self.server.predictor.describe()})

    def do_POST(self) -> None:  # noqa: N802
        try:
            if self.path.split("?")[0] != "/predict":
                raise RequestError(HTTPStatus.NOT_FOUND, f"no such endpoint {self.path!r}; use POST /predict")
            body = self._read_body()
            self._send(HTTPStatus.OK, self.server.predict_body(body))
        except RequestError as e:
            self._error(e)
        except Exception:  # a bug, not the client's fault: log it, answer 500, keep serving
            log.exception("POST /predict failed")
            self.close_connection = True
            self._error(RequestError(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; see the server log"))

    def do_PUT(self) -> None:  # noqa: N802
        self._error(RequestError(HTTPStatus.METHOD_NOT_ALLOWED, "use GET /health or POST /predict"))

    do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_PUT  # noqa: N815

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own rejections (malformed request line, oversized headers, ...): JSON like ours
        self.close_connection = True
        self._error(RequestError(HTTPStatus(code), message or HTTPStatus(code).phrase))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "chunked bodies are not accepted; send Content-Length")
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "missing Content-Length header")
        if not length.strip().isdigit():
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, f"Content-Length {length!r} is not a number")
        size = int(length)
        if size > self.server.max_request_bytes:
            self.close_connection = True  # the unread body must not be parsed as the next request
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"body of {size:,} bytes; at most {self.server.max_request_bytes:,}")
        body = self.rfile.read(size)
        if len(body) < size:
            self.close_connection = True
            raise RequestError(HTTPStatus.BAD_REQUEST, f"body ended after {len(body)} of {size} bytes")
        return body

    def _send(self, status: HTTPStatus, obj) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, e: RequestError) -> None:
        self._send(e.status, {"error": e.reason})

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's signature)
        log.info("%s %s", self.address_string(), format % args)


def make_server(predictor: Predictor, host: str = "127.0.0.1", port: int = 8000, **limits) -> PredictionServer:
    """Bind (port 0 = any free port; see ``server.url``); call ``serve_forever()`` to answer requests."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise NewsclfError(f"port: expected an integer from 0 to 65535, found {port!r}")
    try:
        return PredictionServer(predictor, host, port, **limits)
    except OSError as e:
        raise NewsclfError(f"cannot listen on {host}:{port} ({e.strerror or e})") from None


def serve(checkpoint, host: str = "127.0.0.1", port: int = 8000, log_requests: bool = True, *,
          max_request_bytes: int = MAX_REQUEST_BYTES, max_documents: int = MAX_DOCUMENTS, timeout_s: float = 30.0,
          **predictor_options) -> None:
    """Load ``checkpoint`` once, bind, print the URL on stdout, answer requests until interrupted."""
    for name, value in (("max_request_bytes", max_request_bytes), ("max_documents", max_documents),
                        ("timeout_s", timeout_s)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise NewsclfError(f"{name}: expected a positive number, found {value!r}")
    predictor = Predictor.from_checkpoint(checkpoint, **predictor_options)
    gc.freeze()  # the model and the libraries live as long as the process: the collector need not walk them
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO if log_requests else logging.WARNING)
    server = make_server(predictor, host, port, max_request_bytes=max_request_bytes, max_documents=max_documents,
                         timeout_s=timeout_s)
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("listening on %s: reachable from other machines, and there is no authentication", host)
    print(f"serving {predictor.checkpoint.path} ({predictor.describe()['model']}) on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("newsclf: server stopped", file=sys.stderr)
    finally:
        server.server_close()
