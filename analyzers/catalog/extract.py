"""Per-file facts: what one module defines and registers. Runs in worker processes; results are cached."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from analyzers.catalog._syntax import attribute_reads
from analyzers.catalog.modules import ModuleInfo, ModuleLoader, resolve_relative
from analyzers.catalog.provider_settings import (
    ProviderRun,
    config_mapping_pairs,
    field_defaults,
    provider_run,
)
from analyzers.catalog.quantization import LOAD_HOOK, formats_named
from analyzers.catalog.records import KNOWN_HOOKS, InitFile, Location, MappingRegistry, Registration

REGISTER_NAMES = {"register_bridge"}
IMPLEMENTATION_NAMES = {"register_bridge_implementation"}
CONFIG_NAME_HINTS = ("config", "cfg")
HOOK_METHODS = set(KNOWN_HOOKS)


@dataclass
class ClassFacts:
    name: str
    qualname: str  #: module.Name
    bases: list[str]  #: base names as written
    resolved_bases: list[str]  #: bases resolved to module.Name through this module's imports
    location: Location
    doc: str | None
    methods: list[str]
    provider_class: str | None = None  #: PROVIDER_CLASS value (source text)
    provider_bridge_calls_super: bool | None = None
    provider_attributes: dict[str, str] = field(default_factory=dict)
    config_fields: list[str] = field(default_factory=list)
    registry: MappingRegistry | None = None  #: evaluated when the class defines mapping_registry
    #: the class body assigns `MODEL_TYPE` or stores a `"model_type"` key (as `megatron_to_hf_config` does)
    writes_model_type: bool = False
    #: formats its module names when the class defines the load hook ("other" when it names none)
    dequant_formats: list[str] = field(default_factory=list)
    #: what its own provider_bridge sets (None when it defines none)
    provider_run: ProviderRun | None = None
    #: its CONFIG_MAPPING when the class body (re)defines it, resolved through `Base.CONFIG_MAPPING + [...]`
    config_mapping: list[tuple[str, str]] | None = None
    #: dataclass field defaults of the class body (providers)
    field_defaults: dict[str, str] = field(default_factory=dict)


@dataclass
class FileFacts:
    path: str
    module: str
    classes: list[ClassFacts] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    functions: list[tuple[str, Location]] = field(default_factory=list)  #: top-level defs
    #: top-level `from m import a as b` bindings: local name -> "m.a" (recipe compatibility aliases)
    aliases: dict[str, str] = field(default_factory=dict)
    init: InitFile | None = None  #: for __init__.py files
    #: CONFIG_MAPPING pairs when this file defines them on a class
    config_mapping: list[tuple[str, str]] = field(default_factory=list)
    #: ACTIVATION_FUNC_MAP (HF name -> callable as written) when this is the base bridge's module
    activation_map: dict[str, str] = field(default_factory=dict)
    deps: list[str] = field(default_factory=list)  #: other files read to resolve this one


def _loc(info: ModuleInfo, node: ast.AST) -> Location:
    return Location(info.path, getattr(node, "lineno", 1), getattr(node, "col_offset", 0))


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def qualify(info: ModuleInfo, name: str) -> str:
    """Resolve a (possibly dotted) name through the module's import bindings to module.Name."""
    head, _, rest = name.partition(".")
    if head in info.imports:
        mod, attr = info.imports[head]
        base = f"{mod}.{attr}" if attr else mod
        return f"{base}.{rest}" if rest else base
    if head in info.classes or head in info.assignments or head in info.functions:
        return f"{info.name}.{name}"
    return name


def _is_register_call(node: ast.expr, names: set[str]) -> bool:
    func = node.func if isinstance(node, ast.Call) else None
    return func is not None and (_dotted(func) or "").split(".")[-1] in names


def _string_constant(info: ModuleInfo, node: ast.expr) -> tuple[str | None, str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, "string"
    name = _dotted(node)
    if name is None:
        return info.segment(node), "unknown"
    value = info.assignments.get(name)
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value, "constant"
    return name.split(".")[-1], "class"


def _registration(info: ModuleInfo, call: ast.Call, bridge: str, style: str, guarded: bool) -> Registration:
    kwargs = {kw.arg: kw.value for kw in call.keywords if kw.arg}
    source, kind = _string_constant(info, kwargs["source"]) if "source" in kwargs else (None, "unknown")
    model_type = kwargs.get("model_type")
    if model_type is not None:
        model_type = _string_constant(info, model_type)[0]
    target = _dotted(kwargs["target"]) if "target" in kwargs else None
    provider = _dotted(kwargs["provider"]) if "provider" in kwargs else None
    return Registration(
        bridge=bridge,
        source=source,
        source_kind=kind,
        target=target.split(".")[-1] if target else None,
        model_type=model_type,
        provider=provider.split(".")[-1] if provider else None,
        style=style,
        location=_loc(info, call),
        guarded=guarded,
    )


def _config_fields(node: ast.AST) -> list[str]:
    """HF config fields read in `node`: `<cfg>.x`, `getattr(<cfg>, "x")`, `hasattr(...)`, `"x" in <cfg>`."""
    fields: set[str] = set()
    for sub, owner, name in attribute_reads(node):
        last = (_dotted(owner) or "").split(".")[-1].lower()
        if any(h in last for h in CONFIG_NAME_HINTS) and not (
            isinstance(sub, ast.Attribute) and name.startswith("_")
        ):
            fields.add(name)
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "get":
            owner = (_dotted(sub.func.value) or "").split(".")[-1].lower()
            if any(h in owner for h in CONFIG_NAME_HINTS) and sub.args:
                key = sub.args[0]
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    fields.add(key.value)
    # Names of config objects themselves are not fields.
    return sorted(f for f in fields if f not in {"config", "hf_config", "text_config", "vision_config"})


def _provider_bridge_facts(info: ModuleInfo, fn: ast.FunctionDef, facts: ClassFacts) -> None:
    calls_super = False
    returned: set[str] = set()
    attrs: dict[str, str] = {}
    constructor_kwargs: dict[str, str] = {}
    assigned_calls: dict[str, ast.Call] = {}
    for node in ast.walk(fn):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "provider_bridge"
        ):
            inner = node.func.value
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) and inner.func.id == "super":
                calls_super = True
        if isinstance(node, ast.Return) and node.value is not None:
            if isinstance(node.value, ast.Name):
                returned.add(node.value.id)
            elif isinstance(node.value, ast.Call):
                for kw in node.value.keywords:
                    if kw.arg:
                        constructor_kwargs[kw.arg] = info.segment(kw.value)
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if isinstance(node.value, ast.Call):
                assigned_calls[node.targets[0].id] = node.value
    for name in returned:
        call = assigned_calls.get(name)
        if call is not None and not (
            isinstance(call.func, ast.Attribute) and call.func.attr == "provider_bridge"
        ):
            for kw in call.keywords:
                if kw.arg:
                    constructor_kwargs[kw.arg] = info.segment(kw.value)
    for node in ast.walk(fn):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and (target.value.id in returned or target.value.id == "provider")
            ):
                attrs[target.attr] = info.segment(value)
    facts.provider_bridge_calls_super = calls_super
    facts.provider_attributes = {**constructor_kwargs, **attrs}


def _writes_model_type(node: ast.ClassDef) -> bool:
    """Whether the class assigns `MODEL_TYPE` or stores a `"model_type"` key anywhere in its body."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "MODEL_TYPE" for t in sub.targets
        ):
            return True
        if isinstance(sub, ast.Subscript) and isinstance(sub.ctx, ast.Store):
            if isinstance(sub.slice, ast.Constant) and sub.slice.value == "model_type":
                return True
    return False


def _names_model_type(source: str) -> bool:
    """Whether a module can write a model type at all (spares walking its classes when it cannot)."""
    return "MODEL_TYPE" in source or '"model_type"' in source or "'model_type'" in source


def _class_facts(info: ModuleInfo, node: ast.ClassDef) -> ClassFacts:
    bases = [b for b in (_dotted(base) for base in node.bases) if b]
    methods = [n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    doc = ast.get_docstring(node)
    facts = ClassFacts(
        name=node.name,
        qualname=f"{info.name}.{node.name}",
        bases=bases,
        resolved_bases=[qualify(info, b) for b in bases],
        location=_loc(info, node),
        doc=doc.strip().splitlines()[0] if doc and doc.strip() else None,
        methods=methods,
    )
    for stmt in node.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "PROVIDER_CLASS" for t in stmt.targets
        ):
            facts.provider_class = info.segment(stmt.value)
        elif isinstance(stmt, ast.FunctionDef) and stmt.name == "provider_bridge":
            _provider_bridge_facts(info, stmt, facts)
    if set(methods) & HOOK_METHODS or any(b.endswith("Bridge") for b in bases):
        facts.config_fields = _config_fields(node)
    if _names_model_type(info.source):
        facts.writes_model_type = _writes_model_type(node)
    if LOAD_HOOK in methods:
        facts.dequant_formats = formats_named(info.source.lower()) or ["other"]
    return facts


def iter_classes(body: list[ast.stmt]):
    """Class definitions in a statement list, also nested in classes, functions, if/try/with blocks."""
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            yield stmt
            yield from iter_classes(stmt.body)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from iter_classes(stmt.body)
        elif isinstance(stmt, ast.If | ast.Try | ast.With | ast.For | ast.While):
            for part in (stmt.body, getattr(stmt, "orelse", []), getattr(stmt, "finalbody", [])):
                yield from iter_classes(part)
            for handler in getattr(stmt, "handlers", []):
                yield from iter_classes(handler.body)


def _walk_registrations(
    info: ModuleInfo, body: list[ast.stmt], guarded: bool, out: list[Registration]
) -> None:
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            for deco in stmt.decorator_list:
                if _is_register_call(deco, REGISTER_NAMES):
                    out.append(_registration(info, deco, stmt.name, "decorator", guarded))
        elif isinstance(stmt, ast.Assign | ast.Expr):
            call = stmt.value
            if (
                isinstance(call, ast.Call)
                and _is_register_call(call.func, REGISTER_NAMES)
                and call.args
                and isinstance(call.args[0], ast.Name)
            ):
                out.append(_registration(info, call.func, call.args[0].id, "call", guarded))
            elif isinstance(call, ast.Call) and _is_register_call(call, IMPLEMENTATION_NAMES):
                kwargs = {kw.arg: kw.value for kw in call.keywords}
                bridge = _dotted(kwargs["bridge_class"]) if "bridge_class" in kwargs else None
                if bridge:
                    out.append(_registration(info, call, bridge, "implementation", guarded))
        elif isinstance(stmt, ast.If | ast.Try | ast.With | ast.For):
            for part in (stmt.body, getattr(stmt, "orelse", []), getattr(stmt, "finalbody", [])):
                _walk_registrations(info, part, True, out)
            for handler in getattr(stmt, "handlers", []):
                _walk_registrations(info, handler.body, True, out)
        elif isinstance(stmt, ast.FunctionDef):
            _walk_registrations(info, stmt.body, True, out)


def _init_file(info: ModuleInfo) -> InitFile:
    init = InitFile(path=info.path)
    for node in info.tree.body:
        if isinstance(node, ast.ImportFrom):
            mod = resolve_relative(info.name, True, node.level, node.module)
            names = [a.asname or a.name for a in node.names]
            if names == ["*"]:
                init.star_imports.append(mod)
            else:
                init.imports.setdefault(mod, []).extend(names)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if (
                isinstance(target, ast.Name)
                and target.id == "__all__"
                and isinstance(node.value, ast.List | ast.Tuple)
            ):
                entries = [
                    e.value
                    for e in node.value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)
                ]
                if isinstance(node, ast.AugAssign):
                    init.all = (init.all or []) + entries
                else:
                    init.all = entries
                    init.all_location = _loc(info, node)
    return init


def _config_mapping(info: ModuleInfo) -> list[tuple[str, str]]:
    for cls in info.classes.values():
        for stmt in cls.body:
            if (
                isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "CONFIG_MAPPING" for t in stmt.targets)
                and isinstance(stmt.value, ast.List)
            ):
                pairs = []
                for elt in stmt.value.elts:
                    if isinstance(elt, ast.Tuple) and len(elt.elts) == 2:
                        a, b = elt.elts
                        if isinstance(a, ast.Constant) and isinstance(b, ast.Constant):
                            pairs.append((a.value, b.value))
                return pairs
    return []


def _activation_map(info: ModuleInfo, loader: ModuleLoader) -> dict[str, str]:
    """ACTIVATION_FUNC_MAP where the base bridge imports it from: the dict literal and its `.update({...})`s."""
    found = loader.resolve(info, "ACTIVATION_FUNC_MAP")
    if found is None:
        return {}
    module, name = found
    out: dict[str, str] = {}
    for stmt in module.tree.body:
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            if isinstance(target, ast.Name) and target.id == name:
                value = stmt.value
        elif (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute)
            and stmt.value.func.attr == "update"
            and _dotted(stmt.value.func.value) == name
            and stmt.value.args
        ):
            value = stmt.value.args[0]
        if isinstance(value, ast.Dict):
            for key, val in zip(value.keys, value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    out[key.value] = module.segment(val)
    return out


def extract_file(info: ModuleInfo, loader: ModuleLoader, mapping_classes: set[str]) -> FileFacts:
    """Everything the catalog needs from one module; registries are evaluated statically."""
    from analyzers.catalog.registry import evaluate_registry

    facts = FileFacts(path=info.path, module=info.name)
    loader.add(info)
    loader.accessed = set()
    for node in iter_classes(info.tree.body):
        cls = _class_facts(info, node)
        if "mapping_registry" in cls.methods:
            cls.registry = evaluate_registry(node, info, loader, mapping_classes)
        cls.provider_run = provider_run(info, node, loader)
        cls.config_mapping = config_mapping_pairs(info, node, loader)
        cls.field_defaults = field_defaults(info, node)
        facts.classes.append(cls)
    _walk_registrations(info, info.tree.body, False, facts.registrations)
    for node in info.tree.body:
        if isinstance(node, ast.FunctionDef):
            facts.functions.append((node.name, _loc(info, node)))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if alias.asname and alias.asname != alias.name:
                    facts.aliases[alias.asname] = f"{node.module}.{alias.name}"
    if info.is_package:
        facts.init = _init_file(info)
    if info.path.endswith("conversion/model_bridge.py"):
        facts.config_mapping = _config_mapping(info)
        facts.activation_map = _activation_map(info, loader)
    facts.deps = sorted(loader.accessed - {info.path})
    return facts
