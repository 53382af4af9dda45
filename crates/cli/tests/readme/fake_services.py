#!/usr/bin/env python3
"""Stand-ins on 127.0.0.1 for a matchmaker (/mm), the Edgegap Integration API (/api) and a
server browser (/sb), used to produce the README's real output (see run.sh beside it).

Usage: fake_services.py PORT BEACONS_JSON   (BEACONS_JSON: `edgegap-probe beacon --shape
matchmaker` output). Loopback only; canned answers shaped like the real services'.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORT = int(sys.argv[1])
BEACONS = json.load(open(sys.argv[2]))
FULL = {"Tokyo", "Sydney"}  # no capacity for my-game/v1.2 "now"
STATE = {"polls": 0, "ticket": None, "ready": {"m-1": True, "m-2": False}}


PLACES = {  # continent, administrative division, timezone, latitude, longitude
    "Montreal": ("North America", "Quebec", "America/Toronto", 45.50, -73.57),
    "Chicago": ("North America", "Illinois", "America/Chicago", 41.88, -87.63),
    "New York": ("North America", "New York", "America/New_York", 40.71, -74.01),
    "Los Angeles": ("North America", "California", "America/Los_Angeles", 34.05, -118.24),
    "Sao Paulo": ("South America", "Sao Paulo", "America/Sao_Paulo", -23.55, -46.63),
    "Frankfurt": ("Europe", "Hesse", "Europe/Berlin", 50.11, 8.68),
    "London": ("Europe", "England", "Europe/London", 51.51, -0.13),
    "Tokyo": ("Asia", "Tokyo", "Asia/Tokyo", 35.68, 139.69),
    "Singapore": ("Asia", "Singapore", "Asia/Singapore", 1.35, 103.82),
    "Sydney": ("Oceania", "New South Wales", "Australia/Sydney", -33.87, 151.21),
}


def location(b):
    loc = dict(b["location"])
    place = PLACES.get(loc["city"], ("", "", "UTC", 0.0, 0.0))
    for k, v in zip(["continent", "administrative_division", "timezone", "latitude",
                     "longitude"], place):
        if not loc.get(k):
            loc[k] = v
    return loc


def instance(rid, city, country, addr):
    md = {"map": "harbor", "mode": "casual"}
    if city:
        md.update({"city": city, "country": country})
    return {"request_id": rid, "status": "READY", "fqdn": f"{rid}.browser.example",
            "public_ip": addr, "metadata": md}


INSTANCES = [
    instance("eu-frankfurt-1", "Frankfurt", "Germany", "203.0.113.21"),
    instance("ap-tokyo-1", "Tokyo", "Japan", "203.0.113.22"),
    instance("us-chicago-1", "Chicago", "United States", "203.0.113.23"),
    instance("ap-singapore-1", "Singapore", "Singapore", "203.0.113.24"),
    instance("sa-saopaulo-1", "Sao Paulo", "Brazil", "203.0.113.25"),
    instance("lan-party", None, None, "203.0.113.26"),
]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def route(self, verb):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        parts = [p for p in url.path.split("/") if p]
        auth = self.headers.get("Authorization") or ""
        if not parts or not auth:
            return self.reply(401, {"message": "Unauthorized"})
        service, rest = parts[0], parts[1:]
        if service == "api" and not auth.startswith("token "):
            return self.reply(401, {"message": "Unauthorized"})
        handler = getattr(self, f"{service}_{verb}", None)
        if handler is None:
            return self.reply(404, {"message": "not found"})
        return handler(rest, query)

    def do_GET(self):
        self.route("get")

    def do_POST(self):
        self.route("post")

    def do_PATCH(self):
        self.route("patch")

    def do_DELETE(self):
        self.route("delete")

    # --- matchmaker -------------------------------------------------------------------
    def mm_get(self, rest, query):
        if rest == ["locations", "beacons"]:
            return self.reply(200, BEACONS)
        if rest == ["tickets", "t-1"]:
            STATE["polls"] += 1
            if STATE["polls"] < 3:
                return self.reply(200, {"id": "t-1", "profile": "casual", "status": "SEARCHING"})
            sent = STATE["ticket"]["attributes"]["beacons"]
            best = min(sent, key=sent.get)
            b = next(b for b in BEACONS["beacons"] if b["location"]["city"] == best)
            return self.reply(200, {
                "id": "t-1", "profile": "casual", "status": "HOST_ASSIGNED",
                "assignment": {"fqdn": "a1b2c3.pr.edgegap.net", "public_ip": "203.0.113.9",
                               "ports": {"game": {"internal": 7777, "external": 31000,
                                                  "link": "a1b2c3.pr.edgegap.net:31000",
                                                  "protocol": "UDP"}},
                               "location": b["location"]}})
        if rest == ["groups", "g-7f3a"]:
            members = [{"id": m, "is_ready": r, "status": "SEARCHING"}
                       for m, r in STATE["ready"].items()]
            return self.reply(200, {"id": "g-7f3a", "profile": "casual", "status": "SEARCHING",
                                    "members": members})
        return self.reply(404, {"message": "not found"})

    def mm_post(self, rest, query):
        body = self.body()
        if rest == ["tickets"]:
            STATE["ticket"], STATE["polls"] = body, 0
            return self.reply(201, {"id": "t-1", "profile": body.get("profile"),
                                    "status": "SEARCHING", "created_at": "2025-06-01T12:00:00Z"})
        if rest == ["groups"]:
            return self.reply(201, {"id": "g-7f3a", "profile": body.get("profile"),
                                    "member_id": "m-1", "status": "SEARCHING"})
        if rest == ["groups", "g-7f3a", "members"]:
            return self.reply(201, {"id": "m-2", "group_id": "g-7f3a", "is_ready": False})
        return self.reply(404, {"message": "not found"})

    def mm_patch(self, rest, query):
        body = self.body()
        if len(rest) == 4 and rest[:3] == ["groups", "g-7f3a", "members"]:
            STATE["ready"][rest[3]] = body.get("is_ready")
            return self.reply(200, {"id": rest[3], "group_id": "g-7f3a",
                                    "is_ready": body.get("is_ready")})
        return self.reply(404, {"message": "not found"})

    def mm_delete(self, rest, query):
        return self.reply(204)

    # --- Integration API --------------------------------------------------------------
    def api_get(self, rest, query):
        if rest == ["v1", "locations", "beacons"]:
            return self.reply(200, {"count": len(BEACONS["beacons"]), "locations": [
                {"host": b["public_ip"], "fqdn": b.get("fqdn"), "udp_port": b.get("udp_port"),
                 "tcp_port": b.get("tcp_port"), "location": location(b)}
                for b in BEACONS["beacons"]]})
        if rest == ["v1", "locations"]:
            every = [location(b) for b in BEACONS["beacons"]]
            messages = []
            if query.get("app") and query.get("version"):
                every = [l for l in every if l["city"] not in FULL]
                messages = [f"{c}: no capacity for {query['app']} {query['version']} at this "
                            "time" for c in sorted(FULL)]
            return self.reply(200, {"locations": every, "messages": messages,
                                    "total_count": len(every),
                                    "pagination": {"number": 1, "next_page_number": None,
                                                   "previous_page_number": None,
                                                   "paginator": {"num_pages": 1},
                                                   "has_next": False, "has_previous": False}})
        if rest == ["v1", "storage", "endpoints"]:
            every = [{"name": "game-logs", "access_key_id": "AKIAEXAMPLE1",
                      "endpoint": "https://s3.eu-west-1.amazonaws.com", "bucket": "my-game-logs",
                      "output_format": "NDJSON"},
                     {"name": "replays", "access_key_id": "AKIAEXAMPLE2",
                      "endpoint": "https://s3.us-east-1.amazonaws.com", "bucket": "my-replays",
                      "output_format": "TEXT"}]
            mask = self.headers.get("X-Fields")
            if mask:
                keep = [f.strip() for f in mask.strip("{}").split(",")]
                every = [{k: v for k, v in e.items() if k in keep} for e in every]
            return self.reply(200, {"endpoints": every, "pagination": {}})
        return self.reply(404, {"message": "not found"})

    # --- server browser ---------------------------------------------------------------
    def sb_get(self, rest, query):
        if rest == ["server-instances"]:
            if query.get("cursor") == "page-2":
                return self.reply(200, {"server_instances": INSTANCES[3:], "next_cursor": None})
            return self.reply(200, {"server_instances": INSTANCES[:3], "next_cursor": "page-2"})
        if len(rest) == 2 and rest[0] == "server-instances":
            for i in INSTANCES:
                if i["request_id"] == rest[1]:
                    return self.reply(200, dict(i, slots={"team-a": 3, "team-b": 4}))
        return self.reply(404, {"message": "not found"})

    def sb_post(self, rest, query):
        body = self.body()
        if rest == ["server-instances", "reservations"]:
            return self.reply(200, {"request_id": "us-chicago-1", "reservation_id": "r-81c2",
                                    "users": body.get("users"), "expires_in_seconds": 30})
        return self.reply(404, {"message": "not found"})


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
