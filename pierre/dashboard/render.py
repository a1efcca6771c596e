"""A tiny HTML renderer: escaped values, one layout, no template engine.

Every value goes through `esc` (or `Markup` for HTML already built here), so
user-supplied names cannot inject markup. Pages carry no inline script or
style, which lets the Content-Security-Policy forbid both.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from string import Template
from typing import Any

import orjson

from pierre.auth.principal import Principal


class Markup(str):
    """HTML built by this module: not escaped again."""


def esc(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[str]) -> Markup:
    return Markup("".join(esc(p) for p in parts))


def tag(name: str, content: Any = "", /, **attrs: Any) -> Markup:
    """`<name attrs>content</name>`; attribute names use `_` for `-`, trailing `_` dropped."""
    rendered = "".join(
        f' {k.rstrip("_").replace("_", "-")}' if v is True else
        f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"'
        for k, v in attrs.items() if v is not None and v is not False)
    if name in ("input", "meta", "link", "br", "img"):
        return Markup(f"<{name}{rendered}>")
    body = join(content) if isinstance(content, list) else esc(content)
    return Markup(f"<{name}{rendered}>{body}</{name}>")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, id_: str | None = None,
          empty: str = "Nothing yet.") -> Markup:
    body = [tag("tr", [tag("td", c) for c in row]) for row in rows]
    if not body:
        return tag("p", empty, class_="muted")
    head = tag("thead", tag("tr", [tag("th", h) for h in headers]))
    return tag("div", tag("table", [head, tag("tbody", body)], id=id_), class_="scroll")


def csrf_field(token: str) -> Markup:
    return tag("input", type="hidden", name="csrf", value=token)


def post_button(action: str, label: str, csrf: str, *, fields: dict[str, str] | None = None,
                class_: str = "button", id_: str | None = None,
                confirm: str | None = None) -> Markup:
    hidden = [tag("input", type="hidden", name=k, value=v) for k, v in (fields or {}).items()]
    return tag("form", [csrf_field(csrf), *hidden,
                        tag("button", label, type="submit", class_=class_, id=id_,
                            data_confirm=confirm)],
               method="post", action=action, class_="inline")


def json_data(id_: str, data: Any) -> Markup:
    """A non-executable JSON block for the page's script (allowed by the CSP)."""
    raw = orjson.dumps(data).decode().replace("<", "\\u003c").replace(">", "\\u003e")
    raw = raw.replace("&", "\\u0026")
    return Markup(f'<script type="application/json" id="{esc(id_)}">{raw}</script>')


_LAYOUT = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title · Pierre</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/static/dashboard.css">
$head</head>
<body><header class="top"><a class="brand" href="/dashboard/">Pierre</a>
<nav>$nav</nav></header>
<main id="main" data-page="$page">$flash<h1>$title</h1>
$body</main>
<script src="/dashboard/static/dashboard.js" defer></script>
$scripts</body></html>
""")


def nav(principal: Principal | None, csrf: str) -> Markup:
    if principal is None:
        return tag("a", "Sign in", href="/dashboard/login")
    links = [("Overview", "/dashboard/"), ("Providers", "/dashboard/providers"),
             ("API keys", "/dashboard/keys"), ("Usage", "/dashboard/usage"),
             ("Training", "/dashboard/training"), ("Security", "/dashboard/security")]
    if principal.is_tenant_admin:
        links.append(("Tenant", "/dashboard/tenant"))
    if principal.is_admin:
        links += [("Admin", "/dashboard/admin"), ("Audit", "/dashboard/admin/audit")]
    parts = [tag("a", label, href=href) for label, href in links]
    parts.append(post_button("/dashboard/logout", "Sign out", csrf, class_="link",
                             id_="logout"))
    return join(parts)


def page(title: str, body: Any, *, principal: Principal | None, csrf: str, page_id: str,
         flash: str | None = None, error: str | None = None, scripts: Sequence[str] = (),
         head: str = "", notice: Markup | None = None) -> str:
    flash_html = notice or Markup("")
    if flash:
        flash_html = Markup(flash_html + tag("p", flash, class_="flash", role="status"))
    if error:
        flash_html = Markup(flash_html + tag("p", error, class_="error", role="alert"))
    return _LAYOUT.substitute(
        title=esc(title), nav=nav(principal, csrf), page=esc(page_id), flash=flash_html,
        body=body if isinstance(body, Markup) else esc(body),
        scripts=join(Markup(f'<script src="{esc(s)}" defer></script>') for s in scripts),
        head=Markup(head))
