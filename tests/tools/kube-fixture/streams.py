"""exec, attach and portforward over an upgraded SPDY/3.1 connection, as
kubectl 1.20 drives them (client-go remotecommand and portforward).

exec/attach: the client opens one stream per channel, each SYN_STREAM
carrying a "streamtype" header: error, stdin (with -i), stdout, stderr
(not with a tty), resize (with a tty, protocol v3 and later). The command
starts once every expected stream is open. At its end stdout and stderr
are closed (FIN), then the error stream carries the result and is closed:
v4 sends a metav1.Status (Success, or Failure with reason NonZeroExitCode
and the code as the cause ExitCode), v2/v3 send nothing or a text message.

portforward: per local connection the client opens an error stream and a
data stream sharing a "requestid" and naming a "port". The fixture has no
network behind the pod: every port is an echo service. When the client
closes its side of the data stream the fixture closes its side of both."""
import json
import queue
import threading

import execsim
import spdy

EXEC_PROTOCOLS = ["v4.channel.k8s.io", "v3.channel.k8s.io",
                  "v2.channel.k8s.io"]
PORTFORWARD_PROTOCOLS = ["portforward.k8s.io"]
STREAM_WAIT = 10.0           # seconds for the client to open every stream
MAX_RESIZE_BUFFER = 4096
FIRST_SIZE_WAIT = 1.0


def negotiate(offered, supported):
    """The client's first offer the server supports (as the API server's
    handshake picks), or None."""
    for p in offered:
        if p in supported:
            return p
    return None


class Stream:
    def __init__(self, conn, sid, headers):
        self.conn, self.id = conn, sid
        self.headers = {k: v[0] if v else "" for k, v in headers.items()}
        self.type = self.headers.get("streamtype", "")
        self.inbox = queue.Queue()
        self.remote_closed = False
        self.local_closed = False

    def deliver(self, data):
        if data and not self.remote_closed:
            self.inbox.put(data)

    def remote_close(self):
        if not self.remote_closed:
            self.remote_closed = True
            self.inbox.put(b"")

    def read(self):
        return self.inbox.get()

    def write(self, data):
        if data and not self.local_closed:
            self.conn.data(self.id, data)

    def close(self, last=b""):
        if not self.local_closed:
            self.local_closed = True
            self.conn.data(self.id, last, fin=True)


class Session:
    """Reads frames until the client goes away; calls on_stream for every
    stream the client opens (after replying to it)."""

    def __init__(self, conn, log):
        self.conn, self.log = conn, log
        self.streams = {}
        self.stopped = threading.Event()
        self.lock = threading.Lock()

    def on_stream(self, stream):
        pass

    def on_data(self, stream, data):
        stream.deliver(data)

    def serve(self):
        try:
            while True:
                frame = self.conn.read_frame()
                if frame is None:
                    break
                self._frame(frame)
        except (spdy.ProtocolError, OSError, ValueError) as e:
            self.log("spdy: %s" % e)
        finally:
            self.stopped.set()
            for s in list(self.streams.values()):
                s.remote_close()

    def _frame(self, frame):
        if not frame.control:
            stream = self.streams.get(frame.stream_id)
            if stream is None:
                self.conn.rst(frame.stream_id, spdy.RST_INVALID_STREAM)
                return
            if frame.data:
                self.on_data(stream, frame.data)
            if frame.fin:
                stream.remote_close()
            return
        if frame.type == spdy.SYN_STREAM:
            if frame.stream_id in self.streams or frame.stream_id % 2 == 0:
                self.conn.rst(frame.stream_id, spdy.RST_PROTOCOL_ERROR)
                return
            stream = Stream(self.conn, frame.stream_id, frame.headers)
            self.streams[frame.stream_id] = stream
            self.conn.syn_reply(frame.stream_id)
            if frame.fin:
                stream.remote_close()
            self.on_stream(stream)
        elif frame.type == spdy.RST_STREAM:
            stream = self.streams.get(frame.stream_id)
            if stream is not None:
                stream.local_closed = True
                stream.remote_close()
        elif frame.type == spdy.PING:
            self.conn.ping(frame.data)
        # SETTINGS, WINDOW_UPDATE, HEADERS (already inflated), GOAWAY:
        # nothing to do; the client closes the connection after GOAWAY.


def exit_status(argv, code, protocol):
    """What the error stream carries at the end of a command."""
    if protocol != "v4.channel.k8s.io":
        if code == 0:
            return b""
        return ("command terminated with non-zero exit code: error "
                "executing command %s, exit code %d" % (argv, code)).encode()
    if code == 0:
        return json.dumps({"metadata": {}, "status": "Success"}).encode()
    return json.dumps({
        "metadata": {}, "status": "Failure",
        "message": "command terminated with non-zero exit code: error "
                   "executing command %s, exit code %d" % (argv, code),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode",
                                "message": str(code)}]}}).encode()


class ExecSession(Session):
    """opts: stdin, stdout, stderr, tty (booleans from the query);
    program(proc) -> exit code; argv for the messages."""

    def __init__(self, conn, log, protocol, opts, program, argv, env,
                 on_exit):
        super().__init__(conn, log)
        self.protocol, self.opts = protocol, opts
        self.program, self.argv, self.env = program, argv, env
        self.on_exit = on_exit
        self.by_type = {}
        self.size = None
        self.sized = threading.Event()
        self.resize_buffer = b""
        self.started = False
        self.expected = {"error"}
        if opts["stdin"]:
            self.expected.add("stdin")
        if opts["stdout"]:
            self.expected.add("stdout")
        if opts["stderr"] and not opts["tty"]:
            self.expected.add("stderr")
        if opts["tty"] and protocol != "v2.channel.k8s.io":
            self.expected.add("resize")
        self.timer = threading.Timer(STREAM_WAIT, self._give_up)
        self.timer.daemon = True
        self.timer.start()

    def _give_up(self):
        if not self.started:
            self.log("exec: streams %s never opened" %
                     sorted(self.expected - set(self.by_type)))
            self.conn.goaway()
            self.stopped.set()

    def on_stream(self, stream):
        if stream.type not in self.expected or stream.type in self.by_type:
            self.conn.rst(stream.id, spdy.RST_PROTOCOL_ERROR)
            return
        self.by_type[stream.type] = stream
        if set(self.by_type) == self.expected and not self.started:
            self.started = True
            self.timer.cancel()
            threading.Thread(target=self._run, daemon=True).start()

    def on_data(self, stream, data):
        if stream.type != "resize":
            stream.deliver(data)
            return
        # client-go writes one JSON object per resize, each on its line
        self.resize_buffer = (self.resize_buffer + data)[-MAX_RESIZE_BUFFER:]
        while b"\n" in self.resize_buffer:
            line, self.resize_buffer = self.resize_buffer.split(b"\n", 1)
            try:
                size = json.loads(line)
                self.size = (int(size["Height"]), int(size["Width"]))
                self.sized.set()
            except (ValueError, KeyError, TypeError):
                self.log("exec: bad resize message %r" % line[:100])

    def _run(self):
        s = self.by_type
        if "resize" in s:
            # a terminal has its size before the command starts; kubectl
            # sends it right after opening the streams
            self.sized.wait(FIRST_SIZE_WAIT)
        stdin = s["stdin"].read if "stdin" in s else None
        out = s["stdout"].write if "stdout" in s else (lambda d: None)
        err = s["stderr"].write if "stderr" in s else (
            None if self.opts["tty"] else (lambda d: None))
        proc = execsim.Process(stdin, out, err, self.opts["tty"], self.env,
                               lambda: self.size, self.stopped)
        try:
            code = self.program(proc)
        except Exception as e:   # a fixture bug must not hang the client
            self.log("exec: %r" % e)
            code = 126
        self.on_exit(code)
        for name in ("stdout", "stderr"):
            if name in s:
                s[name].close()
        s["error"].close(exit_status(self.argv, code, self.protocol))
        if "stdin" in s:
            s["stdin"].close()
        if "resize" in s:
            s["resize"].close()


class PortForwardSession(Session):
    def __init__(self, conn, log, on_connection):
        super().__init__(conn, log)
        self.errors = {}
        self.on_connection = on_connection

    def on_stream(self, stream):
        rid = stream.headers.get("requestid", "")
        port = stream.headers.get("port", "")
        if not port.isdigit() or not 0 < int(port) < 65536:
            self.conn.rst(stream.id, spdy.RST_PROTOCOL_ERROR)
            return
        if stream.type == "error":
            with self.lock:
                self.errors[rid] = stream
        elif stream.type == "data":
            self.on_connection(int(port))
            threading.Thread(target=self._echo, args=(stream, rid),
                             daemon=True).start()
        else:
            self.conn.rst(stream.id, spdy.RST_PROTOCOL_ERROR)

    def _echo(self, stream, rid):
        while True:
            data = stream.read()
            if not data:
                break
            stream.write(data)
        stream.close()
        with self.lock:
            error = self.errors.pop(rid, None)
        if error is not None:
            error.close()
