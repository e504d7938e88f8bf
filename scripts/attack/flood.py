# N connections trickling a forged-signature webhook body (1 byte/s); meanwhile signed
# webhooks are timed. Usage: flood.py PORT N TOKEN PUBLIC_URL
import base64, hashlib, hmac, socket, sys, threading, time, urllib.parse, http.client
port, n, token, public = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
held = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /voice/incoming HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: Zm9yZ2Vk\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\nCallSid=")
    held.append(s)
stop = False
def trickle():
    while not stop:
        for s in held:
            try: s.send(b"a")
            except OSError: pass
        time.sleep(1)
threading.Thread(target=trickle, daemon=True).start()
time.sleep(0.5)
def signed(i):
    params = {"CallSid": f"CA{i:032x}", "From": "+32470123456", "To": "+3280043436"}
    data = public + "/voice/incoming" + "".join(k + v for k, v in sorted(params.items()))
    sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    t = time.perf_counter()
    c.request("POST", "/voice/incoming", urllib.parse.urlencode(params), {"X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse(); r.read(); c.close()
    return r.status, (time.perf_counter() - t) * 1000
results = [signed(i) for i in range(50)]
stop = True
ok = [ms for st, ms in results if st == 200]
print(f"{n} slow connections held; 50 signed webhooks: {len(ok)} answered 200, "
      f"statuses {sorted(set(st for st, _ in results))}, median {sorted(ms for _, ms in results)[25]:.1f} ms, "
      f"max {max(ms for _, ms in results):.1f} ms")
