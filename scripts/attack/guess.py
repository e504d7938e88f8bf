# 40 parallel guessers on one account for SECONDS; counts passwords actually checked.
import http.client, re, sys, threading, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
checked = refused = 0
lock = threading.Lock()
def once():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", "/login"); r = c.getresponse(); body = r.read().decode()
    cookie = r.getheader("set-cookie").split(";")[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', body).group(1)
    form = f"login=anna&password=guess&csrf={csrf}"
    c.request("POST", "/login", form, {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse(); r.read(); c.close()
    return r.status
def worker(end):
    global checked, refused
    while time.time() < end:
        s = once()
        with lock:
            if s == 303: checked += 1
            elif s == 429: refused += 1
end = time.time() + seconds
ts = [threading.Thread(target=worker, args=(end,)) for _ in range(40)]
[t.start() for t in ts]; [t.join() for t in ts]
print(f"{seconds:.0f} s, 40 parallel guessers: {checked} passwords checked ({checked/seconds:.2f}/s), {refused} refused with 429")
