#!/usr/bin/python3
"""proxy.py - a TCP proxy that can lose its server on demand, for the
restart test against a server it cannot stop (DDBSIM_TEST_MONGO_URI).

Usage: proxy.py DIR HOST PORT
  Listens on 127.0.0.1 (a free port, written to DIR/port) and forwards every
  connection to HOST:PORT.  While the file DIR/down exists it closes every
  connection and accepts none, as a server that went away; once the file is
  removed it listens again on the same port.
"""
import os
import select
import socket
import sys
import threading
import time

directory, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
down_file = os.path.join(directory, "down")
conns = set()
lock = threading.Lock()


def is_down():
    return os.path.exists(down_file)


def pump(a):
    try:
        b = socket.create_connection((host, port), timeout=5)
    except OSError:
        a.close()
        return
    with lock:
        conns.add(a)
        conns.add(b)
    try:
        while not is_down():
            r, _, _ = select.select([a, b], [], [], 0.05)
            for s in r:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            with lock:
                conns.discard(s)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def listen(p):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(64)
    s.settimeout(0.05)
    return s


def main():
    srv = listen(0)
    my_port = srv.getsockname()[1]
    with open(os.path.join(directory, "port.tmp"), "w") as f:
        f.write("%d\n" % my_port)
    os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))
    while True:
        if is_down():
            if srv is not None:
                srv.close()
                srv = None
            time.sleep(0.05)
            continue
        if srv is None:
            srv = listen(my_port)
        try:
            a, _ = srv.accept()
        except socket.timeout:
            continue
        a.setblocking(True)
        threading.Thread(target=pump, args=(a,), daemon=True).start()


main()
