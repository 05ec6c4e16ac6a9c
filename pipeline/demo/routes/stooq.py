"""Stooq at stooq.com: the daily CSV download /q/d/l/?s=..&d1=..&d2=..&i=d."""

from __future__ import annotations

from datetime import datetime

import httpx

from pipeline.demo.transport import DemoWorld, Reply, Route

HEADER = ["Date", "Open", "High", "Low", "Close", "Volume"]


def daily_csv(world: DemoWorld, request: httpx.Request) -> Reply:
    params = request.url.params
    ticker = world.market.universe.by_stooq_symbol().get(params.get("s", "").lower())
    try:
        d1 = datetime.strptime(params["d1"], "%Y%m%d").date()
        d2 = datetime.strptime(params["d2"], "%Y%m%d").date()
    except (KeyError, ValueError):
        return Reply("stooq", ticker or "", None, text="No data", content_type="text/plain")
    if ticker is None:
        return Reply("stooq", "", d1, text="No data", content_type="text/plain")
    bars = world.market.equity_bars(ticker, d1, d2)
    if not bars:
        return Reply("stooq", ticker, d1, text="No data", content_type="text/plain")

    def render(header: list[str], negative: bool = False) -> str:
        lines = [",".join(header)]
        for i, bar in enumerate(bars):
            row = {
                "Date": bar["date"].isoformat(),
                "Open": bar["open"],
                "High": bar["high"],
                "Low": bar["low"],
                "Close": -bar["close"] if negative and i == 0 else bar["close"],
                "Volume": bar["volume"],
            }
            lines.append(",".join(str(row[h]) for h in header))
        return "\r\n".join(lines) + "\r\n"

    def corrupt(kind: str, text: str) -> str:
        if kind == "negative_price":
            return render(HEADER, negative=True)
        if kind.startswith("missing_field:"):
            gone = kind.partition(":")[2]
            return render([h for h in HEADER if h != gone])
        return text

    return Reply("stooq", ticker, d1, text=render(HEADER), content_type="text/csv", corrupt=corrupt)


ROUTES = [Route("stooq.com", "/q/d/l/", daily_csv)]
