"""The three patch kinds kubectl sends: JSON patch (RFC 6902), JSON merge
patch (RFC 7386) and a strategic merge patch covering what kubectl 1.20's
apply, patch and scale produce for the fixture's resources (keyed lists,
$patch, $retainKeys, $setElementOrder, $deleteFromPrimitiveList)."""
import copy


class PatchError(Exception):
    pass


# --- RFC 6902 ---------------------------------------------------------------

def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~")
            for p in path[1:].split("/")]


def _index(container, token, allow_end):
    if token == "-" and allow_end:
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise PatchError("invalid array index %r" % token)
    i = int(token)
    if i > len(container) or (i == len(container) and not allow_end):
        raise PatchError("array index %d out of range" % i)
    return i


def _parent(doc, tokens):
    node = doc
    for t in tokens[:-1]:
        if isinstance(node, dict):
            if t not in node:
                raise PatchError("path element %r not found" % t)
            node = node[t]
        elif isinstance(node, list):
            node = node[_index(node, t, False)]
        else:
            raise PatchError("cannot descend into a scalar at %r" % t)
    return node


def _get(doc, tokens):
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("path %r not found" % "/".join(tokens))
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, False)]
    raise PatchError("not a container")


def _remove(doc, tokens):
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise PatchError("path %r not found" % "/".join(tokens))
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, False))
    raise PatchError("not a container")


def _add(doc, tokens, value, replace=False):
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise PatchError("path %r not found" % "/".join(tokens))
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, False)] = value
        else:
            parent.insert(_index(parent, last, True), value)
    else:
        raise PatchError("not a container")
    return doc


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError("malformed JSON patch operation")
        kind, tokens = op["op"], _pointer(op["path"])
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError("%s needs a value" % kind)
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _remove(doc, tokens)
        elif kind == "replace":
            doc = _add(doc, tokens, copy.deepcopy(op["value"]), True)
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            value = (_remove(doc, src) if kind == "move"
                     else copy.deepcopy(_get(doc, src)))
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if _get(doc, tokens) != op["value"]:
                raise PatchError("test operation failed at %s" % op["path"])
        else:
            raise PatchError("unknown JSON patch operation %r" % kind)
    return doc


# --- RFC 7386 ---------------------------------------------------------------

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- strategic merge patch ------------------------------------------------

# Lists merged by a key (the patchMergeKey of the Kubernetes types); every
# other list is replaced whole, as the API server does.
MERGE_KEYS = {
    "containers": "name", "initContainers": "name",
    "ephemeralContainers": "name", "env": "name", "volumes": "name",
    "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "imagePullSecrets": "name", "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey", "ownerReferences": "uid",
    "conditions": "type",
}
PRIMITIVE_MERGE = {"finalizers"}


def merge_key(field, path):
    if field == "ports":
        return "containerPort" if ("containers" in path or
                                   "initContainers" in path) else "port"
    return MERGE_KEYS.get(field)


def _strip(value):
    """A patch value stored where nothing was: directives removed."""
    if isinstance(value, dict):
        if value.get("$patch") == "delete":
            return None
        return {k: _strip(v) for k, v in value.items()
                if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value
                if not (isinstance(v, dict) and v.get("$patch") in
                        ("delete", "replace"))]
    return value


def _merge_list(orig, patch, key, path):
    if any(isinstance(p, dict) and p.get("$patch") == "replace"
           for p in patch):
        return [_strip(p) for p in patch
                if not (isinstance(p, dict) and "$patch" in p)]
    result = copy.deepcopy(orig)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise PatchError("list item without merge key %r" % key)
        at = next((i for i, o in enumerate(result)
                   if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if at is not None:
                result.pop(at)
            continue
        if at is None:
            result.append(_strip(item))
        else:
            result[at] = strategic_merge(result[at], item, path)
    return result


def _order(values, order, key):
    def rank(v):
        k = v.get(key) if key and isinstance(v, dict) else v
        return order.index(k) if k in order else len(order)
    return sorted(values, key=rank)


def strategic_merge(original, patch, path=()):
    if not isinstance(patch, dict):
        raise PatchError("a strategic merge patch must be an object")
    directive = patch.get("$patch")
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != "$patch"})
    if directive == "delete":
        return {}
    if directive not in (None, "merge"):
        raise PatchError("unknown $patch directive %r" % directive)
    result = copy.deepcopy(original) if isinstance(original, dict) else {}
    orders = {}
    for field, value in patch.items():
        if field in ("$patch", "$retainKeys"):
            continue
        if field.startswith("$setElementOrder/"):
            orders[field.split("/", 1)[1]] = value
            continue
        if field.startswith("$deleteFromPrimitiveList/"):
            name = field.split("/", 1)[1]
            if isinstance(result.get(name), list):
                result[name] = [v for v in result[name] if v not in value]
            continue
        sub = path + (field,)
        old = result.get(field)
        if value is None:
            result.pop(field, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(field, None)
            else:
                result[field] = strategic_merge(old if isinstance(old, dict)
                                                else {}, value, sub)
        elif isinstance(value, list):
            key = merge_key(field, path)
            if key and isinstance(old, list):
                result[field] = _merge_list(old, value, key, sub)
            elif field in PRIMITIVE_MERGE and isinstance(old, list):
                result[field] = old + [v for v in value if v not in old]
            else:
                result[field] = _strip(value)
        else:
            result[field] = value
    for field, order in orders.items():
        if isinstance(result.get(field), list) and isinstance(order, list):
            key = merge_key(field, path)
            flat = [o.get(key) if key and isinstance(o, dict) else o
                    for o in order]
            result[field] = _order(result[field], flat, key)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result
