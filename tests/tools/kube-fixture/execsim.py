"""The commands a fixture container runs for exec and attach: no process is
ever started on the host; a handful of built-ins imitate what tests need
(echo, printf, cat, env, printenv, hostname, id, pwd, whoami, true, false,
exit, sleep, wc -c, stty size, and sh -c SCRIPT or an interactive sh
reading commands from stdin). A command that is not built in ends with
exit code 127 and "command not found" on stderr, as a shell would say."""
import re
import shlex

MAX_LINE = 64 << 10


class Interrupted(Exception):
    pass


class Exit(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


class Process:
    """stdin: callable returning the next bytes (b"" at end of input);
    out, err: callables taking bytes; size: callable returning (rows,
    cols) or None; stopped: threading.Event set when the client is gone."""

    def __init__(self, stdin, out, err, tty, env, size, stopped):
        self._stdin, self._out, self._err = stdin, out, err
        self.tty, self.env, self.size, self.stopped = tty, env, size, stopped
        self.pending = b""
        self.eof = stdin is None

    # A terminal's line discipline, reduced to what a test can see:
    # CR becomes NL and is echoed as CRLF, ^D ends the input, ^C interrupts.
    def _fill(self):
        if self.eof:
            return False
        data = self._stdin()
        if not data:
            self.eof = True
            return False
        if self.tty:
            cooked, echo = b"", b""
            for byte in data:
                c = bytes([byte])
                if c == b"\x03":
                    self.write(b"^C\n")
                    raise Interrupted()
                if c == b"\x04":
                    self.eof = True
                    break
                if c == b"\r":
                    c = b"\n"
                cooked += c
                echo += c
            if echo:
                self.write(echo)
            data = cooked
        self.pending += data
        return True

    def read(self):
        while not self.pending and self._fill():
            pass
        data, self.pending = self.pending, b""
        return data

    def readline(self):
        while b"\n" not in self.pending and len(self.pending) < MAX_LINE:
            if not self._fill():
                break
        if b"\n" in self.pending:
            line, self.pending = self.pending.split(b"\n", 1)
            return line + b"\n"
        line, self.pending = self.pending, b""
        return line

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.tty:
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self._out(data)

    def error(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self._err is None:       # with a tty stderr goes to stdout
            self.write(data)
        else:
            self._err(data)


def _expand(word, proc, last):
    def sub(m):
        name = m.group(1) or m.group(2)
        return str(last) if name == "?" else proc.env.get(name, "")
    return re.sub(r"\$\{(\w+)\}|\$(\w+|\?)", sub, word)


def _printf(args):
    if not args:
        return ""
    fmt = args[0].replace("\\n", "\n").replace("\\t", "\t")
    values = list(args[1:])
    out = re.sub(r"%[sd]", lambda m: values.pop(0) if values else "", fmt)
    return out.replace("%%", "%")


def builtin(argv, proc, last=0):
    name, args = argv[0], argv[1:]
    if name == "echo":
        newline = True
        if args and args[0] == "-n":
            newline, args = False, args[1:]
        proc.write(" ".join(args) + ("\n" if newline else ""))
    elif name == "printf":
        proc.write(_printf(args))
    elif name == "cat":
        if args and args != ["-"]:
            proc.error("cat: %s: No such file or directory\n" % args[0])
            return 1
        while True:
            data = proc.readline() if proc.tty else proc.read()
            if not data:
                break
            proc.write(data)
    elif name == "env":
        for k, v in proc.env.items():
            proc.write("%s=%s\n" % (k, v))
    elif name == "printenv":
        if not args:
            return builtin(["env"], proc)
        if args[0] not in proc.env:
            return 1
        proc.write(proc.env[args[0]] + "\n")
    elif name == "hostname":
        proc.write(proc.env.get("HOSTNAME", "") + "\n")
    elif name == "id":
        proc.write("uid=0(root) gid=0(root) groups=0(root)\n")
    elif name == "whoami":
        proc.write("root\n")
    elif name == "pwd":
        proc.write("/\n")
    elif name == "true":
        return 0
    elif name == "false":
        return 1
    elif name == "exit":
        code = int(args[0]) if args and args[0].lstrip("-").isdigit() else last
        raise Exit(code & 0xff)
    elif name == "sleep":
        try:
            seconds = float(args[0]) if args else 0.0
        except ValueError:
            proc.error("sleep: invalid time interval\n")
            return 1
        if proc.stopped.wait(min(seconds, 3600)):
            return 137
    elif name == "wc" and args == ["-c"]:
        total = 0
        while True:
            data = proc.read()
            if not data:
                break
            total += len(data)
        proc.write("%d\n" % total)
    elif name == "stty" and args == ["size"]:
        size = proc.size()
        if not proc.tty or size is None:
            proc.error("stty: 'standard input': Inappropriate ioctl "
                       "for device\n")
            return 1
        proc.write("%d %d\n" % size)
    elif name == "sh" or name == "bash" or name == "/bin/sh":
        if len(args) >= 2 and args[0] == "-c":
            return script(args[1], proc)
        if args:
            proc.error("%s: %s: No such file or directory\n" % (name, args[0]))
            return 127
        return interactive(proc)
    else:
        proc.error("%s: command not found\n" % name)
        return 127
    return 0


class _Swapped:
    """A command's view of the process with >&2 or 2>&1 applied."""

    def __init__(self, proc, to_stderr):
        self._proc, self._to_stderr = proc, to_stderr

    def __getattr__(self, name):
        return getattr(self._proc, name)

    def write(self, data):
        (self._proc.error if self._to_stderr else self._proc.write)(data)

    def error(self, data):
        (self._proc.error if self._to_stderr else self._proc.write)(data)


def script(text, proc, last=0):
    """Commands separated by ; && || or newlines; $NAME, ${NAME} and $?
    expanded; >&2 and 2>&1; no pipes, no other redirections, no quoting
    subtleties."""
    lex = shlex.shlex(text.replace("\n", ";"), posix=True,
                      punctuation_chars=";&|<>")
    lex.whitespace_split = True
    try:
        tokens = list(lex)
    except ValueError as e:
        proc.error("sh: syntax error: %s\n" % e)
        return 2
    words, op, redirect, target = [], ";", None, proc
    for tok in tokens + [";"]:
        if redirect == ">&":
            if tok == "2":
                target = _Swapped(proc, True)
            elif tok == "1" and words and words[-1] == "2":
                words.pop()
                target = _Swapped(proc, False)
            else:
                proc.error("sh: unsupported redirection >&%s\n" % tok)
                return 2
            redirect = None
            continue
        if tok == ">&":
            redirect = tok
            continue
        if tok in (";", "&&", "||"):
            if words:
                run = (op == ";" or (op == "&&" and last == 0) or
                       (op == "||" and last != 0))
                if run:
                    last = builtin([_expand(w, proc, last) for w in words],
                                   target, last)
            words, op, target = [], tok, proc
        elif tok and set(tok) <= set(";&|<>"):
            proc.error("sh: %r is not supported by the fixture\n" % tok)
            return 2
        else:
            words.append(tok)
    return last


def interactive(proc):
    last = 0
    while True:
        if proc.tty:
            proc.write("# ")
        line = proc.readline()
        if not line:
            return last
        last = script(line.decode("utf-8", "replace"), proc, last)


def run(argv, proc):
    """The exit code of argv as a container would report it."""
    if not argv:
        proc.error("no command given\n")
        return 126
    try:
        return builtin(argv, proc)
    except Exit as e:
        return e.code
    except Interrupted:
        return 130
