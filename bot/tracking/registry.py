"""The model registry and logged models: versions by run, by number, by alias, the
newest per stage, a registered model's record; the registry's writes (tags, aliases,
descriptions).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import yaml

from bot.domain import (
    LoggedModelInfo,
    ModelRecord,
    ModelVersionInfo,
)
from bot.errors import TrackingError
from bot.tracking import data as td
from bot.tracking import errors as te
from bot.tracking.session import IDS_PER_SEARCH, MODEL_META_LIMIT, Session

if TYPE_CHECKING:
    from mlflow.entities import Run

log = logging.getLogger(__name__)


class RegistryAccess(Session):
    """Registered models, their versions and the logged models of runs."""

    def _logged_models(self, runs: list[Run]) -> dict[str, list[LoggedModelInfo]]:
        """Logged models per run: one search for all runs, then one MLmodel read per
        model (signature, flavors), at most MODEL_META_LIMIT per fetch."""
        producers = [r for r in runs if r.outputs and r.outputs.model_outputs]
        if not producers:
            return {}
        where = f"source_run_id IN {td.in_list([r.info.run_id for r in producers])}"
        experiments = sorted({r.info.experiment_id for r in producers})
        found = self.pages(
            "searching logged models",
            self.client.search_logged_models,
            experiments,
            filter_string=where,
        )
        out: dict[str, list[LoggedModelInfo]] = {}
        for n, model in enumerate(sorted(found, key=lambda m: m.creation_timestamp or 0)):
            readable = n < MODEL_META_LIMIT and self.served(model.artifact_location)
            meta = self._model_meta(model.model_id, model.artifact_location) if readable else None
            info = td.logged_model(model, meta)
            self._logged[model.model_id] = (model.artifact_location, info)
            out.setdefault(model.source_run_id, []).append(info)
        return out

    def _model_meta(self, model_id: str, location: str) -> object:
        """The parsed MLmodel file below a logged model's location, or None."""
        try:
            return yaml.safe_load(self.read_file(location, "MLmodel", "reading an MLmodel file"))
        except (TrackingError, te.Missing, yaml.YAMLError) as exc:
            log.warning("could not read the MLmodel file of logged model %s: %s", model_id, exc)
            return None

    def _versions_of(self, run_ids: list[str]) -> list[ModelVersionInfo]:
        """Registered versions built from these runs: one search, then one read per
        registered model for the aliases (search results carry none)."""
        found: list[Any] = []
        for chunk in td.chunks(run_ids, IDS_PER_SEARCH):
            where = f"run_id IN {td.in_list(chunk)}"
            found += self.pages(
                "searching model versions", self.client.search_model_versions, where
            )
        aliases: dict[tuple[str, str], list[str]] = {}
        for name in sorted({v.name for v in found}):
            model = self._registered_model(name)
            for version, names in td.aliases_by_version(model and model.aliases).items():
                aliases[(name, version)] = names
        return [td.model_version(v, aliases.get((v.name, str(v.version)), ())) for v in found]

    def _registered_model(self, name: str) -> Any:
        """The registered model (aliases, newest version per stage), read once per
        instance: an instance serves one review."""
        if name not in self._models:
            doing = f"reading registered model {name}"
            self._models[name] = self.lookup(doing, self.client.get_registered_model, name)
        return self._models[name]

    def model_version(self, name: str, version: str) -> ModelVersionInfo | None:
        if not td.VERSION.fullmatch(version):
            return None
        doing = f"reading version {version} of model {name}"
        found = self.lookup(doing, self.client.get_model_version, name, version)
        return td.model_version(found) if found else None

    def model_version_by_alias(self, name: str, alias: str) -> ModelVersionInfo | None:
        doing = f"reading alias {alias} of model {name}"
        found = self.lookup(doing, self.client.get_model_version_by_alias, name, alias)
        return td.model_version(found) if found else None

    def latest_version(self, name: str, stage: str | None) -> ModelVersionInfo | None:
        """One read: a registered model lists the newest version of every stage."""
        model = self._registered_model(name)
        newest = td.newest_version(model.latest_versions or [] if model else [], stage)
        if not model or newest is None:
            return None
        aliases = td.aliases_by_version(model.aliases).get(str(newest.version), [])
        return td.model_version(newest, aliases)

    def logged_model_run(self, model_id: str) -> str | None:
        if not td.MODEL_ID.fullmatch(model_id):
            return None
        doing = f"reading logged model {model_id}"
        model = self.lookup(doing, self.client.get_logged_model, model_id)
        return (model.source_run_id or None) if model else None

    def model_record(self, name: str, *, versions: bool = True) -> ModelRecord | None:
        """Two reads at most: the registered model (shared with the review's other
        registry reads) and one search for its versions with their tags."""
        model = self._registered_model(name)
        if model is None:
            return None
        found: list[Any] = []
        if versions:
            doing = f"searching the versions of model {name}"
            where = td.name_filter(name)
            found = self.pages(doing, self.client.search_model_versions, where, strict=True)
        return td.model_record(model, found)

    # --- writes -----------------------------------------------------------------
    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        doing = f"tagging version {version} of model {name}"
        self.call(doing, self.client.set_model_version_tag, name, version, key, value)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        doing = f"tagging registered model {name}"
        self._models.pop(name, None)  # its tags change: read it again when asked
        self.call(doing, self.client.set_registered_model_tag, name, key, value)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        doing = f"setting alias {alias} of model {name}"
        self._models.pop(name, None)  # its aliases change: read it again when asked
        self.call(doing, self.client.set_registered_model_alias, name, alias, version)

    def model_version_description(self, name: str, version: str) -> str:
        doing = f"reading version {version} of model {name}"
        found = self.call(doing, self.client.get_model_version, name, version)
        return str(found.description or "")

    def set_model_version_description(self, name: str, version: str, text: str) -> None:
        doing = f"updating the description of version {version} of model {name}"
        self.call(doing, self.client.update_model_version, name, version, description=text)
