"""Local files: GPX, TCX and FIT imported from uploads, the CLI or a configured folder.

Activities are parsed once and stored per user through the ProviderStore, with
a fingerprint (start second + sport + distance) so the same ride exported
twice, or in two formats, is stored once.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from pierre.errors import InvalidArguments, NotFound, PierreError
from pierre.models import ActivityDetail, ActivityQuery, ActivitySummary, Athlete, Stats
from pierre.plugins.base import PluginContext
from pierre.plugins.provider import CallContext, Provider, UserRef
from pierre.providers.parsing import fingerprint, parse_file
from pierre.providers.summaries import stats_from
from pierre.providers.synthetic import laps_from_streams

EXTENSIONS = (".gpx", ".tcx", ".fit")


class LocalFilesProvider(Provider):
    name = "localfiles"
    display_name = "Local files"
    capabilities = frozenset({"athlete", "activities", "activity", "streams", "laps", "stats",
                              "import"})

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        folder = self.options.get("folder")
        self.folder: str | None = str(folder) if folder else None
        self._seen: dict[UserRef, set[tuple[str, int, float]]] = {}

    @classmethod
    def from_config(cls, options: dict[str, Any], ctx: PluginContext) -> LocalFilesProvider:
        opts = dict(options)
        if opts.get("folder"):
            opts["folder"] = ctx.config.resolve_path(str(opts["folder"]))
        return cls(opts)

    async def import_files(self, ctx: CallContext, files: list[tuple[str, bytes]]
                           ) -> dict[str, Any]:
        """Parse and store; one bad file is reported, not fatal to the others."""
        imported: list[dict[str, Any]] = []
        duplicates: list[str] = []
        errors: list[dict[str, str]] = []
        for filename, data in files:
            try:
                act = await asyncio.to_thread(parse_file, filename, data, provider=self.name)
            except PierreError as exc:
                errors.append({"file": filename, "error": exc.message})
                continue
            except Exception as exc:  # a malformed file must not abort the batch
                errors.append({"file": filename, "error": f"could not read: {type(exc).__name__}"})
                continue
            new = await ctx.store.put_activity(ctx.user, self.name, act,
                                               fingerprint=fingerprint(act))
            if new:
                imported.append({"file": filename, "activity_id": act.provider_id,
                                 "sport_type": act.sport_type,
                                 "distance_m": act.distance_m,
                                 "elapsed_time_s": act.elapsed_time_s})
            else:
                duplicates.append(filename)
        return {"imported": imported, "duplicates": duplicates, "errors": errors}

    async def sync_folder(self, ctx: CallContext) -> dict[str, Any] | None:
        """Import files added to `[providers.localfiles] folder` since the last look."""
        if not self.folder or not os.path.isdir(self.folder):
            return None
        seen = self._seen.setdefault(ctx.user, set())
        todo: list[tuple[str, bytes]] = []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            if not entry.is_file() or not entry.name.lower().endswith(EXTENSIONS):
                continue
            st = entry.stat()
            key = (entry.name, st.st_size, st.st_mtime)
            if key in seen:
                continue
            seen.add(key)
            todo.append((entry.name, await asyncio.to_thread(_read, entry.path)))
        return await self.import_files(ctx, todo) if todo else None

    async def on_disconnect(self, ctx: CallContext) -> None:
        """Disconnecting forgets the imported activities (and what the folder held)."""
        await ctx.store.delete_all(ctx.user, self.name)
        self._seen.pop(ctx.user, None)

    async def athlete(self, ctx: CallContext) -> Athlete:
        return Athlete(provider=self.name, provider_id=ctx.user.user_id)

    async def activities(self, ctx: CallContext, query: ActivityQuery) -> list[ActivitySummary]:
        await self.sync_folder(ctx)
        return await ctx.store.list_activities(ctx.user, self.name, query)

    async def activity(self, ctx: CallContext, activity_id: str, *, streams: bool = False,
                       laps: bool = False) -> ActivityDetail:
        found = await ctx.store.get_activity(ctx.user, self.name, activity_id)
        if found is None:
            raise NotFound(f"activity {activity_id} not found")
        series = found.streams
        if laps and series is not None:
            every = 1000.0 if found.sport_type in ("Run", "Walk", "Hike") else 5000.0
            found.laps = laps_from_streams(series, every, found.start_utc)
        if not streams:
            found.streams = None
        return found

    async def stats(self, ctx: CallContext) -> Stats:
        items: list[ActivitySummary] = []
        offset = 0
        while True:
            page = await ctx.store.list_activities(ctx.user, self.name,
                                                   ActivityQuery(limit=500, offset=offset))
            items.extend(page)
            offset += len(page)
            if len(page) < 500:
                break
        return stats_from(self.name, items)


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(50 * 1024 * 1024 + 1)
    if len(data) > 50 * 1024 * 1024:
        raise InvalidArguments(f"{os.path.basename(path)}: larger than 50 MiB", field="file")
    return data
