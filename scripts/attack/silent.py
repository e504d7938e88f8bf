import socket, time, select, sys
port=int(sys.argv[1])
socks=[socket.create_connection(("127.0.0.1",port)) for _ in range(1000)]
t=time.time()
for s in socks[:500]: s.sendall(b"POST /voice/incoming HTTP/1.1\r\nHost: x\r\nContent-Le")
open_=set(socks); closed=[]
while open_ and time.time()-t<20:
    r,_,_=select.select(list(open_),[],[],0.5)
    for s in r:
        try: d=s.recv(4096)
        except OSError: d=b""
        if not d: open_.discard(s); closed.append(time.time()-t)
print(f"1000 connections (500 silent, 500 half-sent headers): {len(closed)} closed by the server" + (f", the last after {max(closed):.1f} s" if closed else "") + f"; {len(open_)} still open after 20 s")
