extension Schema {
    /// 5 -> 6: the energy of the pods on shared nodes, per node, minute and pod, as the
    /// attribution splits each node's measured energy (see `PodMinuteRow`).
    ///
    /// `pod_minute` holds one row per node, minute and share: `kind` `pod` for a pod (its
    /// namespace, name and uid), `system` for the node's CPU use no pod accounts for (kubelet,
    /// containerd, the OS) and `idle` for the static power no pod was given. A minute's rows of
    /// a node add up to the energy its plug measured in the attributed part of that minute
    /// (`covered_ms`, between `first_ms` and `last_ms`). The view `pod_energy` shows them in
    /// the units of `power_minute`.
    static let addPodEnergy = """
        CREATE TABLE pod_minute (
            node_id INTEGER NOT NULL REFERENCES node(id),
            minute INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('pod', 'system', 'idle')),
            namespace TEXT NOT NULL DEFAULT '',
            pod TEXT NOT NULL DEFAULT '',
            uid TEXT NOT NULL DEFAULT '',
            cpu_seconds REAL NOT NULL DEFAULT 0,
            dynamic_joules REAL NOT NULL DEFAULT 0,
            static_joules REAL NOT NULL DEFAULT 0,
            covered_ms INTEGER NOT NULL DEFAULT 0,
            first_ms INTEGER NOT NULL,
            last_ms INTEGER NOT NULL,
            PRIMARY KEY (node_id, minute, kind, namespace, pod, uid)
        ) WITHOUT ROWID;
        CREATE INDEX pod_minute_by_pod ON pod_minute (namespace, pod, minute);
        CREATE VIEW pod_energy AS
            SELECT node.name AS node,
                   p.minute * 60.0 AS ts,
                   p.kind AS kind,
                   p.namespace AS namespace,
                   p.pod AS pod,
                   p.uid AS uid,
                   p.cpu_seconds AS cpu_seconds,
                   p.dynamic_joules AS dynamic_joules,
                   p.static_joules AS static_joules,
                   p.dynamic_joules + p.static_joules AS joules,
                   p.covered_ms / 1000.0 AS covered_s,
                   p.covered_ms / 60000.0 AS coverage
            FROM pod_minute AS p JOIN node ON node.id = p.node_id;
        """
}
