"""Machine-translation engines through deep-translator, one HTTP request per string.

An `Engine` translates ONE string with ONE request and classifies failures:
`TransientEngineError` (429, 5xx, connection trouble; retry later, honouring
`Retry-After`) or `EngineError` (bad key, unsupported language; do not retry). Batching,
caching, throttling, retries and the placeholder guard live around it, in
`outreach.i18n.machine`.

Why the recording shim: deep-translator turns HTTP failures into exceptions that drop the
response (`ServerException(status)` keeps a message only; `RequestError` keeps nothing),
so the status and `Retry-After` header would be lost. deep-translator's engine modules
call `requests.get/post` through their module-level `requests` name; we point that name
at a thin proxy that forwards every call unchanged, adds a timeout (deep-translator sets
none, so a stuck server would hang a flow forever), and remembers the last response per
thread. Nothing else in the process is affected.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import requests

from outreach.retry_after import retry_after_seconds as parse_retry_after

REQUEST_TIMEOUT_SECONDS = 30.0


class EngineError(RuntimeError):
    """A failure retrying will not fix (bad key, unsupported language, no result).

    `fatal` means every further request would fail the same way (bad key, language not
    offered, engine unreachable after retries): the batch stops instead of trying each
    remaining string. A non-fatal error concerns one string only.
    """

    def __init__(self, message: str, *, fatal: bool = True) -> None:
        super().__init__(message)
        self.fatal = fatal


class TransientEngineError(EngineError):
    """A failure worth retrying: rate limited (429), server error (5xx), network trouble."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class _RecordingRequests:
    """Stands in for the `requests` module inside deep-translator's engine modules."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    @property
    def last_response(self) -> requests.Response | None:
        return getattr(self._local, "response", None)

    def forget(self) -> None:
        self._local.response = None

    def _record(self, response: requests.Response) -> requests.Response:
        self._local.response = response
        return response

    def get(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_SECONDS)
        return self._record(requests.get(*args, **kwargs))

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", REQUEST_TIMEOUT_SECONDS)
        return self._record(requests.post(*args, **kwargs))


RECORDER = _RecordingRequests()
_installed = False


def _install_recorder() -> None:
    global _installed
    if _installed:
        return
    from deep_translator import deepl, google, libre, microsoft, mymemory

    for module in (deepl, google, libre, microsoft, mymemory):
        module.requests = RECORDER  # type: ignore[attr-defined]
    _installed = True


_SERVER_EXCEPTION_STATUS = {
    "ERR_TOO_MANY_REQUESTS": 429,
    "ERR_INTERNAL_SERVER_ERROR": 500,
    "ERR_SERVICE_NOT_AVAIBLE": 503,
}


def classify(error: BaseException, response: requests.Response | None) -> EngineError:
    """Turn whatever deep-translator raised into EngineError / TransientEngineError."""
    from deep_translator import exceptions as dt

    status = response.status_code if response is not None else None
    # Not `if response`: a Response is falsy for 4xx/5xx.
    retry_after = (
        parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
    )
    if isinstance(error, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return TransientEngineError(f"cannot reach the engine: {error}")
    if isinstance(error, dt.TooManyRequests):
        return TransientEngineError("rate limited (429)", status=429, retry_after=retry_after)
    if status is None and isinstance(error, dt.ServerException):
        status = _SERVER_EXCEPTION_STATUS.get(str(error.args[0]) if error.args else "")
    if status is not None and (status == 429 or status >= 500):
        return TransientEngineError(
            f"engine answered HTTP {status}", status=status, retry_after=retry_after
        )
    if isinstance(error, dt.LanguageNotSupportedException):
        return EngineError(f"the engine does not support this language: {error.val}")
    if isinstance(error, dt.AuthorizationException | dt.ApiKeyException):
        return EngineError("the engine refused the API key (OUTREACH_TRANSLATOR_API_KEY)")
    if isinstance(error, dt.TranslationNotFound | dt.NotValidPayload | dt.NotValidLength):
        return EngineError(f"no translation for this text: {error}", fatal=False)
    if status in (400, 413, 422):  # this text was refused (too long, bad request)
        return EngineError(f"engine answered HTTP {status} for this text", fatal=False)
    if status is not None:
        return EngineError(f"engine answered HTTP {status}")
    return EngineError(f"{type(error).__name__}: {error}")


@dataclass
class Engine:
    """One deep-translator backend; `translate(text, source, target)` is one request.

    ```python
    engine = Engine("libretranslate", url="http://127.0.0.1:5000/", api_key="k")
    engine.translate("Hello", "en", "es")
    ```
    """

    name: str
    url: str = ""
    api_key: str | None = None

    def __post_init__(self) -> None:
        _install_recorder()
        self._clients: dict[tuple[str, str], Any] = {}
        self.requests = 0  # HTTP translation requests made (successful or not)

    def _client(self, source: str, target: str) -> Any:
        key = (source, target)
        if key not in self._clients:
            self._clients[key] = _make_client(self.name, source, target, self.url, self.api_key)
        return self._clients[key]

    def translate(self, text: str, source: str, target: str) -> str:
        RECORDER.forget()
        try:
            client = self._client(source, target)
            self.requests += 1
            result = client.translate(text)
        except EngineError:
            raise
        except Exception as error:  # deep-translator raises many unrelated types
            raise classify(error, RECORDER.last_response) from error
        if not isinstance(result, str) or not result.strip():
            raise EngineError("the engine returned no translation", fatal=False)
        return result


@lru_cache(maxsize=1)
def _open_libre_class() -> type:
    """deep-translator's LibreTranslator, accepting every language the server has.

    deep-translator checks codes against a 17-language list from 2021; self-hosted
    LibreTranslate servers offer many more (Bengali, Romanian, Urdu, ...). The server
    itself rejects what it lacks, with an HTTP 400 we report.
    """
    from deep_translator import LibreTranslator

    class OpenLibreTranslator(LibreTranslator):  # type: ignore[misc]
        def _map_language_to_code(self, *languages: str) -> Any:
            yield from languages

    return OpenLibreTranslator


def _libre_client(source: str, target: str, url: str, api_key: str | None) -> Any:
    base = url if url.endswith("/") else url + "/"  # deep-translator appends "translate"
    # deep-translator insists on a key; self-hosted servers often run without one and
    # ignore the field.
    return _open_libre_class()(
        source=source, target=target, api_key=api_key or "-", custom_url=base
    )


def _make_client(name: str, source: str, target: str, url: str, api_key: str | None) -> Any:
    import deep_translator as dt

    if name == "libretranslate":
        if not url:
            raise EngineError("set OUTREACH_TRANSLATOR_URL to your LibreTranslate server")
        return _libre_client(source, target, url, api_key)
    if name == "google":
        return dt.GoogleTranslator(source=source, target=target)
    if name == "mymemory":
        return dt.MyMemoryTranslator(source=source, target=target)
    if name == "deepl":
        if not api_key:
            raise EngineError("the deepl backend needs OUTREACH_TRANSLATOR_API_KEY")
        return dt.DeeplTranslator(
            api_key=api_key, source=source, target=target, use_free_api=api_key.endswith(":fx")
        )
    if name == "microsoft":
        if not api_key:
            raise EngineError("the microsoft backend needs OUTREACH_TRANSLATOR_API_KEY")
        return dt.MicrosoftTranslator(api_key=api_key, source=source, target=target)
    raise EngineError(f"unknown translation engine {name!r}")


def sleep(seconds: float) -> None:
    """Indirection so tests can observe waits without waiting."""
    time.sleep(seconds)
