"""An MLLP listener (HL7 v2 over TCP: 0x0B message 0x1C 0x0D) for one organisation's
interface engine, feeding the same `receive_hl7_message` as the HTTP endpoint.

The network side is asyncio (python-hl7's MLLP streams) on a thread of its own; the
database side runs on one dedicated worker thread, so messages are applied one at a time
and in the order received (ADT order matters) and the thread's connection is closed when
stale, as a request would. A frame that cannot be read is answered with an AR and the
connection goes on; an error on our side is answered with an AE, for the sender to retry.
"""

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections, connections
from django.utils.translation import gettext as _
from hl7.mllp import InvalidBlockError, start_hl7_server

from pathways.hl7 import REJECT, SEGMENT_SEQUENCE_ERROR, HL7Error, build_ack, decode_er7
from pathways.services.hospital_feed import internal_error_ack, receive_hl7_message
from professionals.models import Organization

logger = logging.getLogger(__name__)

# The largest message accepted (an ADT message is a few kilobytes).
MAX_MESSAGE_BYTES = 1024 * 1024


def _framing_ack(reason: str) -> bytes:
    error = HL7Error(reason, segment="MSH", code=SEGMENT_SEQUENCE_ERROR, ack_code=REJECT)
    return build_ack(header=None, code=REJECT, text=reason, error=error).encode("utf-8")


class MllpServer:
    """Serves MLLP on (host, port) for `organization` until `stop()`; port 0 picks a free
    port, readable as `.port` once `start()` has returned."""

    def __init__(self, *, organization: Organization, host: str = "127.0.0.1", port: int = 2575):
        self.organization = organization
        self.host = host
        self.port = port
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllp-db")

    def start(self) -> "MllpServer":
        self._thread = threading.Thread(target=self._run, name="mllp", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join()

    def wait(self) -> None:
        """Block until the server stops (the management command's foreground)."""
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        finally:
            self._database.submit(connections.close_all).result()
            self._database.shutdown()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await start_hl7_server(
                self._client, self.host, self.port, limit=MAX_MESSAGE_BYTES
            )
        except BaseException as error:
            self._startup_error = error
            self._ready.set()
            return
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for writer in list(self._writers):
                writer.close()
            await server.wait_closed()

    async def _client(self, reader, writer) -> None:
        self._writers.add(writer)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    block = await reader.readblock()
                except asyncio.IncompleteReadError:
                    break  # the sender closed the connection
                except InvalidBlockError:
                    ack = _framing_ack(_("Trame MLLP invalide : caractère de début (0x0B) absent."))
                except ValueError:
                    ack = _framing_ack(_("Message trop long."))
                else:
                    ack = await loop.run_in_executor(self._database, self._receive, block)
                writer.writeblock(ack)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    def _receive(self, block: bytes) -> bytes:
        """On the database thread: one message in, its ACK out."""
        close_old_connections()
        raw = decode_er7(block)
        try:
            ack, _message = receive_hl7_message(organization=self.organization, raw=raw)
        except Exception as error:
            # No message content in the log: it is health data.
            logger.error("MLLP message not processed: %s", type(error).__name__)
            ack = internal_error_ack(raw)
        finally:
            close_old_connections()
        return ack.encode("utf-8")
