#!/usr/bin/env python3
"""Forward-auth checks of one reverse proxy running the README's
configuration (deploy/forward-auth/*, only ports and host names changed, on
loopback) in front of internal/devtools/protectedapp, with bin/gatehouse.

A manual tool, not run by CI (CI runs the nginx file in
frontend/e2e/forward-auth.spec.ts): Caddy 2.9+ and Traefik are not in
Debian's packages. Build them from the Go module proxy (README, "Forward
auth") and run, from the repository root after `make build-go` and
`go build -o bin/protectedapp ./internal/devtools/protectedapp`:

    python3 scripts/forward-auth-proxies.py nginx /usr/sbin/nginx
    python3 scripts/forward-auth-proxies.py caddy /path/to/caddy
    python3 scripts/forward-auth-proxies.py traefik /path/to/traefik

It prints PASS/FAIL per check and "N passed, N failed"; it exits 1 on a
failure. KEEP=1 keeps the work directory (logs, generated configurations);
NOSTRIP=1 (caddy) drops the route's request_header lines, as a control.
"""
import http.client, json, os, re, select, shutil, socket, subprocess, sys, tempfile, time, urllib.parse

REPO = os.environ.get("REPO", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
kind, pbin = sys.argv[1], sys.argv[2]
work = tempfile.mkdtemp(prefix=f"gatehouse-{kind}-")
procs = []
results = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def req(port, method, path, host=None, cookie="", headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    h = dict(headers or {})
    if host:
        h["Host"] = host
    if cookie:
        h["Cookie"] = cookie
    data = None
    if body is not None:
        data = json.dumps(body)
        h["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read().decode("utf-8", "replace")
    setc = "; ".join(v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie")
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), text, setc


def check(name, ok, detail=""):
    results.append((name, ok))
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else "  -- " + detail), flush=True)


def fields(html):
    import html as h
    return {k: h.unescape(v) for k, v in re.findall(r'data-testid="(\w+)">([^<]*)<', html)}


def start(args, env=None, cwd=None, log="log"):
    f = open(os.path.join(work, log), "w")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=cwd)
    procs.append(p)
    return p


def wait_log(log, pattern, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(pattern, open(os.path.join(work, log)).read())
        if m:
            return m
        time.sleep(0.1)
    raise SystemExit(f"timeout waiting for {pattern} in {log}: " + open(os.path.join(work, log)).read()[-2000:])


try:
    gp, pp = free_port(), free_port()
    base = f"http://auth.gatehouse.test:{gp}"
    start([f"{REPO}/bin/gatehouse", "serve", "--http", f"127.0.0.1:{gp}", "--data", f"{work}/data", "--base-url", base],
          env={"GATEHOUSE_COOKIE_DOMAIN": "gatehouse.test", "GATEHOUSE_TRUSTED_PROXIES": "127.0.0.1"}, log="gatehouse.log")
    token = wait_log("gatehouse.log", r"/setup\?token=([^\s\"'&<>]+)").group(1)

    def api(method, path, cookie="", body=None):
        s, h, t, sc = req(gp, method, path, cookie=cookie, body=body)
        return s, (json.loads(t) if t.strip().startswith(("{", "[")) else t), sc

    s, j, _ = api("POST", "/api/setup", body={"token": token, "username": "root", "password": "quarry-lantern-5120", "email": "root@example.com"})
    assert s == 201, (s, j)

    def signin(u, pw):
        s, j, sc = api("POST", "/api/auth/login", body={"identifier": u, "password": pw})
        assert s == 200, (u, s, j)
        return sc

    root = signin("root", "quarry-lantern-5120")
    s, sec, _ = api("GET", "/api/admin/settings/security", root)
    sec["authRateLimitPerMinute"] = 1000
    assert api("PUT", "/api/admin/settings/security", root, sec)[0] == 200
    users = {
        "alice": {"username": "alice", "displayName": "Alice Liddell", "email": "alice@example.com", "password": "copper-meadow-7731", "role": "user"},
        # No email address: Gatehouse answers X-Gatehouse-Email empty (no display name: the username).
        "bob": {"username": "bob", "password": "granite-harbor-4419", "role": "user"},
        "carol": {"username": "carol", "displayName": "Carol Admin", "email": "carol@example.com", "password": "velvet-signal-2208", "role": "admin"},
    }
    ids = {}
    for n, u in users.items():
        s, j, _ = api("POST", "/api/admin/users", root, u)
        assert s == 201, (n, s, j)
        ids[n] = j["publicId"] if "publicId" in j else j.get("user", j).get("publicId")
        assert ids[n], j
    app_host, ops_host = f"app.gatehouse.test:{pp}", f"ops.gatehouse.test:{pp}"
    for a in [{"name": "Team app", "hosts": [app_host], "allowedRoles": ["user", "admin", "super_admin"]},
              {"name": "Operations", "hosts": [ops_host], "allowedRoles": ["admin", "super_admin"]}]:
        s, j, _ = api("POST", "/api/admin/protected-apps", root, a)
        assert s == 201, (s, j)

    start([f"{REPO}/bin/protectedapp", "-addr", "127.0.0.1:0"], log="app.log")
    app_addr = wait_log("app.log", r"HTTP (\S+)").group(1)

    # The proxy, with the README's file adapted to loopback ports and hosts.
    if kind == "nginx":
        site = open(f"{REPO}/deploy/forward-auth/nginx.conf").read()
        site = (site.replace("listen 443 ssl;", f"listen 127.0.0.1:{pp};")
                .replace("server_name app.example.com;", "server_name app.gatehouse.test ops.gatehouse.test;")
                .replace("http://127.0.0.1:3000", f"http://{app_addr}")
                .replace("http://127.0.0.1:8080/", f"http://127.0.0.1:{gp}/"))
        for d in ("tmp", "logs"):
            os.makedirs(f"{work}/{d}")
        conf = f"""worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {work}/tmp/body;
    proxy_temp_path {work}/tmp/proxy;
    fastcgi_temp_path {work}/tmp/fastcgi;
    uwsgi_temp_path {work}/tmp/uwsgi;
    scgi_temp_path {work}/tmp/scgi;
{site}
}}
"""
        open(f"{work}/nginx.conf", "w").write(conf)
        start([pbin, "-p", work, "-c", f"{work}/nginx.conf", "-g", "daemon off;"], log="proxy.log")
    elif kind == "caddy":
        site = open(f"{REPO}/deploy/forward-auth/Caddyfile").read()
        assert "app.example.com {" in site
        site = (site.replace("app.example.com {", f"http://app.gatehouse.test:{pp}, http://ops.gatehouse.test:{pp} {{")
                .replace("127.0.0.1:3000", app_addr)
                .replace("127.0.0.1:8080", f"127.0.0.1:{gp}"))
        if os.environ.get("NOSTRIP"):  # negative control: without the route's request_header lines
            site = re.sub(r"\n\t\trequest_header -X-Gatehouse-\w+", "", site)
            print(site)
        glob = "{\n\tadmin off\n\tdefault_bind 127.0.0.1\n}\n"
        open(f"{work}/Caddyfile", "w").write(glob + site)
        start([pbin, "run", "--config", f"{work}/Caddyfile", "--adapter", "caddyfile"],
              env={"HOME": work, "XDG_DATA_HOME": f"{work}/xdg-data", "XDG_CONFIG_HOME": f"{work}/xdg-config"}, log="proxy.log")
    elif kind == "traefik":
        dyn = open(f"{REPO}/deploy/forward-auth/traefik.yml").read()
        assert 'rule: "Host(`app.example.com`)"' in dyn and "      tls: {}\n" in dyn
        dyn = (dyn.replace('rule: "Host(`app.example.com`)"', 'rule: "Host(`app.gatehouse.test`) || Host(`ops.gatehouse.test`)"')
               .replace("      tls: {}\n", "")
               .replace("http://127.0.0.1:3000", f"http://{app_addr}")
               .replace("http://127.0.0.1:8080/", f"http://127.0.0.1:{gp}/"))
        open(f"{work}/dynamic.yml", "w").write(dyn)
        static = f"""entryPoints:
  web:
    address: "127.0.0.1:{pp}"
providers:
  file:
    filename: "{work}/dynamic.yml"
log:
  level: INFO
global:
  checkNewVersion: false
  sendAnonymousUsage: false
"""
        open(f"{work}/traefik.yml", "w").write(static)
        start([pbin, f"--configFile={work}/traefik.yml"], log="proxy.log")
    else:
        raise SystemExit("unknown proxy")

    deadline = time.time() + 60
    while True:
        try:
            s = req(pp, "GET", "/", host=app_host)[0]
            if s in (302, 401):
                break
        except OSError:
            pass
        if time.time() > deadline:
            raise SystemExit("proxy did not answer: " + open(f"{work}/proxy.log").read()[-3000:])
        time.sleep(0.2)

    # 1. No session: the browser is sent to Gatehouse's sign-in with a return address.
    page = "/reports/2026?q=a&b=c"
    want_rd = f"http://{app_host}{page}"
    s, h, t, _ = req(pp, "GET", page, host=app_host)
    loc = h.get("location", "")
    want_loc = f"{base}/api/forward-auth/sign-in?rd=" + urllib.parse.quote(want_rd, safe="")
    check("no session: 302 to the sign-in start, rd = the page asked for", s == 302 and loc == want_loc, f"{s} {loc!r} want {want_loc!r}")
    s2, h2, _, _ = req(gp, "GET", urllib.parse.urlsplit(loc).path + "?" + urllib.parse.urlsplit(loc).query)
    check("no session: the sign-in start accepts that rd and sends to /login?next=", s2 == 302 and "/login?next=" in h2.get("location", ""), f"{s2} {h2.get('location')}")
    s3, _, _, _ = req(gp, "GET", "/api/forward-auth/sign-in?rd=" + urllib.parse.quote("http://evil.example/", safe=""))
    check("an rd off the protected hosts is refused (400)", s3 == 400, str(s3))
    s4, h4, _, _ = req(pp, "GET", "/", host=app_host, headers={"Accept": "application/json"})
    check("no session, non-browser (Accept: application/json)", s4 in (302, 401), f"{s4}")
    print(f"     non-browser answer: {s4} {h4.get('location', '')[:60]}")

    # 2. A valid session: the app sees who it is, from Gatehouse.
    spoof = {"X-Gatehouse-User": "spoofed-id", "X-Gatehouse-Username": "root", "X-Gatehouse-Email": "evil@example.net",
             "X-Gatehouse-Name": "Mallory", "X-Gatehouse-Role": "super_admin"}
    cookies = {n: signin(n, u["password"]) for n, u in users.items()}
    s, h, _, _ = req(gp, "GET", urllib.parse.urlsplit(loc).path + "?" + urllib.parse.urlsplit(loc).query, cookie=cookies["alice"])
    check("signed in: the sign-in start returns to the page", s == 302 and h.get("location") == want_rd, f"{s} {h.get('location')}")
    for who, hdrs in (("alice", {}), ("alice", spoof), ("bob", {}), ("bob", spoof), ("carol", spoof)):
        u = users[who]
        s, h, t, _ = req(pp, "GET", page, host=app_host, cookie=cookies[who], headers=hdrs)
        f = fields(t)
        want = {"user": ids[who], "username": u["username"], "email": u.get("email", ""), "name": u.get("displayName", u["username"]), "role": u["role"]}
        got = {k: f.get(k) for k in want}
        label = f"{who} ({'user, no email' if who == 'bob' else u['role']}){' with all five X-Gatehouse-* spoofed' if hdrs else ''}: app sees Gatehouse's values"
        check(label, s == 200 and got == want and f.get("path") == page, f"{s} got {got} want {want}")
    # Spoofed with mixed case and duplicated headers, by hand on the wire.
    raw = (f"GET / HTTP/1.1\r\nHost: {app_host}\r\nCookie: {cookies['bob']}\r\nx-gatehouse-email: evil1@example.net\r\n"
           f"X-GATEHOUSE-EMAIL: evil2@example.net\r\nx-gatehouse-name: Mallory\r\nConnection: close\r\n\r\n")
    sk = socket.create_connection(("127.0.0.1", pp))
    sk.sendall(raw.encode())
    buf = b""
    while True:
        d = sk.recv(65536)
        if not d:
            break
        buf += d
    sk.close()
    txt = buf.decode("utf-8", "replace")
    f = fields(txt)
    check("bob, duplicated lower/upper-case X-Gatehouse-Email and -Name spoofed: app sees an empty email and the name bob",
          txt.startswith("HTTP/1.1 200") and f.get("email") == "" and f.get("name") == "bob" and f.get("username") == "bob", txt[:200] + str(f))

    # Identity headers spelt with underscores: Traefik passes them on
    # (another name to it) and CGI/PHP/WSGI apps read them as the real
    # ones; Gatehouse refuses the request (403).
    under = {"X-Gatehouse_Email": "evil@example.net", "X_Gatehouse_Role": "super_admin"}
    s, _, t, _ = req(pp, "GET", "/", host=app_host, cookie=cookies["bob"], headers=under)
    f = fields(t)
    # (nginx and Caddy 2.11 drop them before they reach Gatehouse or the app.)
    passed = (s == 403 and "Protected app" not in t) or (
        s == 200 and f.get("underscored") == "" and f.get("email") == "" and f.get("role") == "user")
    check("bob with X-Gatehouse_Email / X_Gatehouse_Role: refused, or dropped before the app", passed, f"{s} {f}")

    # 3. A role the app does not allow.
    s, _, t, _ = req(pp, "GET", "/", host=ops_host, cookie=cookies["alice"])
    check("alice (user) on the administrators' app: 403, app not reached", s == 403 and "Protected app" not in t, f"{s}")
    s, _, t, _ = req(pp, "GET", "/", host=ops_host, cookie=cookies["alice"], headers={"X-Forwarded-Host": app_host, "X-Forwarded-Uri": "/", "X-Forwarded-Proto": "https"})
    check("alice on the administrators' app with spoofed X-Forwarded-Host/-Uri/-Proto: still 403", s == 403 and "Protected app" not in t, f"{s}")
    s, _, t, _ = req(pp, "GET", "/", host=ops_host, cookie=cookies["carol"])
    check("carol (admin) on the administrators' app: 200, role admin", s == 200 and fields(t).get("role") == "admin", f"{s} {fields(t)}")

    # 4. Sign-out: the old cookie is refused again.
    s, _, _ = api("POST", "/api/auth/logout", cookies["alice"])
    assert s in (200, 204), s
    s, h, t, _ = req(pp, "GET", "/", host=app_host, cookie=cookies["alice"])
    check("alice signed out, old cookie replayed: 302 to sign in, app not reached",
          s == 302 and "/api/forward-auth/sign-in?rd=" in h.get("location", "") and "Protected app" not in t, f"{s} {h.get('location')}")
    s, h, t, _ = req(pp, "GET", "/", host=app_host, cookie=cookies["alice"], headers=spoof)
    check("signed out with spoofed X-Gatehouse-*: 302, app not reached", s == 302 and "Protected app" not in t, f"{s}")
finally:
    for p in reversed(procs):
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    n_ok = sum(1 for _, ok in results if ok)
    print(f"{kind}: {n_ok} passed, {len(results) - n_ok} failed")
    if os.environ.get("KEEP"):
        print("work dir", work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    if not results or n_ok != len(results):
        sys.exit(1)
