"""The server side of SPDY/3.1 as the Kubernetes streaming subresources
use it (exec, attach, portforward): control and data frames, header blocks
compressed with zlib and SPDY/3's dictionary (one stream of compression per
direction for the whole connection), SYN_STREAM from the client answered
by SYN_REPLY, FIN for half-closes, RST_STREAM, PING echoed, GOAWAY.
No flow control: the Go client (spdystream) does none either."""
import struct
import threading
import zlib

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9
FLAG_FIN = 0x01
RST_PROTOCOL_ERROR, RST_INVALID_STREAM, RST_CANCEL = 1, 2, 5

MAX_FRAME = 1 << 20          # bytes of one frame's payload
MAX_HEADER_BLOCK = 64 << 10  # bytes of one decompressed header block
MAX_HEADERS = 64             # name/value pairs in one block


def _header_dictionary():
    """SPDY/3 section 2.6.10.1: length-prefixed header names and values,
    then a run of common status lines, dates and media types."""
    words = (
        "options head post put delete trace accept accept-charset "
        "accept-encoding accept-language accept-ranges age allow "
        "authorization cache-control connection content-base "
        "content-encoding content-language content-length content-location "
        "content-md5 content-range content-type date etag expect expires "
        "from host if-match if-modified-since if-none-match if-range "
        "if-unmodified-since last-modified location max-forwards pragma "
        "proxy-authenticate proxy-authorization range referer retry-after "
        "server te trailer transfer-encoding upgrade user-agent vary via "
        "warning www-authenticate method get status").split()
    words += ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie",
              "keep-alive", "origin"]
    tail = (
        "100101201202205206300302303304305306307402405406407408409410411412"
        "413414415416417502504505203 Non-Authoritative Information204 No "
        "Content301 Moved Permanently400 Bad Request401 Unauthorized403 "
        "Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
        "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct "
        "Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,"
        "text/html,image/png,image/jpg,image/gif,application/xml,"
        "application/xhtml+xml,text/plain,text/javascript,publicprivate"
        "max-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,"
        "enq=0.")
    out = b"".join(struct.pack(">I", len(w)) + w.encode() for w in words)
    return out + tail.encode()


HEADER_DICTIONARY = _header_dictionary()
# The zlib streams name the dictionary by its Adler-32; a wrong byte
# anywhere would make every header block unreadable to the peer.
assert len(HEADER_DICTIONARY) == 1423
assert zlib.adler32(HEADER_DICTIONARY) == 0xe3c6a7c2


class ProtocolError(Exception):
    pass


class Frame:
    __slots__ = ("control", "type", "flags", "stream_id", "data", "headers",
                 "status")

    def __init__(self, control, ftype, flags, stream_id, data):
        self.control, self.type, self.flags = control, ftype, flags
        self.stream_id, self.data = stream_id, data
        self.headers, self.status = None, None

    @property
    def fin(self):
        return bool(self.flags & FLAG_FIN)


class Connection:
    """One upgraded connection. read_frame() from one thread; the write
    methods may be called from any thread."""

    def __init__(self, rfile, wfile):
        self.rfile, self.wfile = rfile, wfile
        self.wlock = threading.Lock()
        self.inflate = zlib.decompressobj(zdict=HEADER_DICTIONARY)
        self.deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 8,
                                        zlib.Z_DEFAULT_STRATEGY,
                                        HEADER_DICTIONARY)
        self.closed = False

    # --- reading ---
    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.rfile.read(n - len(buf))
            if not chunk:
                return None if not buf else self._short()
            buf += chunk
        return buf

    @staticmethod
    def _short():
        raise ProtocolError("connection closed inside a frame")

    def _header_block(self, block):
        raw = self.inflate.decompress(block, MAX_HEADER_BLOCK)
        if self.inflate.unconsumed_tail:
            raise ProtocolError("header block too large")
        if len(raw) < 4:
            raise ProtocolError("short header block")
        count = struct.unpack(">I", raw[:4])[0]
        if count > MAX_HEADERS:
            raise ProtocolError("too many headers")
        pos, headers = 4, {}
        for _ in range(count):
            fields = []
            for _ in range(2):
                if pos + 4 > len(raw):
                    raise ProtocolError("truncated header block")
                n = struct.unpack(">I", raw[pos:pos + 4])[0]
                pos += 4
                if pos + n > len(raw):
                    raise ProtocolError("truncated header block")
                fields.append(raw[pos:pos + n].decode("utf-8", "replace"))
                pos += n
            name, value = fields
            if name != name.lower() or not name:
                raise ProtocolError("bad header name %r" % name)
            headers[name] = value.split("\0")
        return headers

    def read_frame(self):
        """The next frame, or None at a clean end of the connection."""
        head = self._read(8)
        if head is None:
            return None
        first, flags_len = struct.unpack(">II", head)
        flags, length = flags_len >> 24, flags_len & 0xffffff
        if length > MAX_FRAME:
            raise ProtocolError("frame of %d bytes" % length)
        payload = self._read(length) if length else b""
        if payload is None:
            self._short()
        if not first & 0x80000000:
            return Frame(False, 0, flags, first & 0x7fffffff, payload)
        version, ftype = (first >> 16) & 0x7fff, first & 0xffff
        if version != VERSION:
            raise ProtocolError("SPDY version %d" % version)
        frame = Frame(True, ftype, flags, 0, payload)
        if ftype in (SYN_STREAM, SYN_REPLY, HEADERS, RST_STREAM,
                     WINDOW_UPDATE):
            if len(payload) < 4:
                raise ProtocolError("short control frame")
            frame.stream_id = struct.unpack(">I", payload[:4])[0] & 0x7fffffff
        if ftype == SYN_STREAM:
            if len(payload) < 10:
                raise ProtocolError("short SYN_STREAM")
            frame.headers = self._header_block(payload[10:])
        elif ftype in (SYN_REPLY, HEADERS):
            frame.headers = self._header_block(payload[4:])
        elif ftype == RST_STREAM:
            if len(payload) < 8:
                raise ProtocolError("short RST_STREAM")
            frame.status = struct.unpack(">I", payload[4:8])[0]
        return frame

    # --- writing ---
    def _write(self, data):
        with self.wlock:
            if self.closed:
                return False
            try:
                self.wfile.write(data)
                return True
            except OSError:
                self.closed = True
                return False

    def _control(self, ftype, flags, payload):
        return self._write(struct.pack(">HHI", 0x8000 | VERSION, ftype,
                                       (flags << 24) | len(payload)) + payload)

    def _encode_headers(self, headers):
        raw = struct.pack(">I", len(headers))
        for name, value in headers.items():
            n, v = name.lower().encode(), value.encode()
            raw += struct.pack(">I", len(n)) + n
            raw += struct.pack(">I", len(v)) + v
        # The compressor's state is shared by every block: compress and
        # send under the one lock so blocks reach the peer in order.
        return (self.deflate.compress(raw) +
                self.deflate.flush(zlib.Z_SYNC_FLUSH))

    def syn_reply(self, stream_id, headers=None, fin=False):
        with self.wlock:
            block = self._encode_headers(headers or {})
            payload = struct.pack(">I", stream_id) + block
            flags = FLAG_FIN if fin else 0
            frame = struct.pack(">HHI", 0x8000 | VERSION, SYN_REPLY,
                                (flags << 24) | len(payload))
            if self.closed:
                return False
            try:
                self.wfile.write(frame + payload)
                return True
            except OSError:
                self.closed = True
                return False

    def data(self, stream_id, data=b"", fin=False):
        step = 16 << 10
        chunks = [data[i:i + step] for i in range(0, len(data), step)] or [b""]
        for i, chunk in enumerate(chunks):
            flags = FLAG_FIN if fin and i == len(chunks) - 1 else 0
            head = struct.pack(">II", stream_id, (flags << 24) | len(chunk))
            if not self._write(head + chunk):
                return False
        return True

    def rst(self, stream_id, status=RST_CANCEL):
        return self._control(RST_STREAM, 0, struct.pack(">II", stream_id,
                                                         status))

    def ping(self, payload):
        return self._control(PING, 0, payload)

    def goaway(self, last_stream=0):
        return self._control(GOAWAY, 0, struct.pack(">II", last_stream, 0))
