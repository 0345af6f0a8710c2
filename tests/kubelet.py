"""What the kubelet makes of a container's `env` list at pod start, for the tests that need a pod's real env.

Kubernetes v1.36 pkg/kubelet/kubelet_pods.go (makeEnvironmentVariables): the entries are taken in order; a
`valueFrom` entry gets its downward API value; a `value` is expanded first, each `$(NAME)` replaced by the value of
an entry before it or of a service variable (KUBERNETES_SERVICE_HOST, ...), by the rules of
third_party/forked/golang/expansion/expand.go, ported below line for line.
"""


def expand(value: str, mapping: dict[str, str]) -> str:
    """`$(NAME)` -> mapping[NAME] (left as written when NAME is unknown), `$$` -> `$`, any other `$` kept."""
    out, checkpoint, cursor = [], 0, 0
    while cursor < len(value):
        if value[cursor] == "$" and cursor + 1 < len(value):
            out.append(value[checkpoint:cursor])
            read, is_var, advance = _read_variable_name(value[cursor + 1:])
            out.append(mapping.get(read, f"$({read})") if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + value[checkpoint:]


def _read_variable_name(rest: str) -> tuple[str, bool, int]:
    if rest[0] == "$":
        return "$", False, 1
    if rest[0] == "(":
        closer = rest.find(")", 1)
        if closer != -1:
            return rest[1:closer], True, closer + 1
        return "$(", False, 1
    return "$" + rest[0], False, 1


def container_env(container: dict, downward: dict[str, str], service_env: dict[str, str]) -> dict[str, str]:
    """The container's env as the kubelet hands it to the runtime. `downward` gives the value of each `valueFrom`
    entry by its name (what the downward API, a Secret or a ConfigMap resolves it to in the pod at hand; empty when
    not given); `service_env` the variables the kubelet adds for Services."""
    env: dict[str, str] = {}
    for entry in container.get("env", []):
        name = entry["name"]
        if "valueFrom" in entry:
            env[name] = downward.get(name, "")
        else:
            env[name] = expand(entry.get("value", ""), {**service_env, **env})
    return {**service_env, **env}
