import JSON

/// What per-pod energy needs of a Pod object (from a list or a watch): where it runs, in
/// which phase, how much CPU it asked for, who owns it and when it ran.
public struct PodSummary: Sendable, Equatable {
    /// The pod's namespace.
    public var namespace: String
    /// The pod's name.
    public var name: String
    /// `metadata.uid` ("" when absent): a pod deleted and created again under the same name is
    /// another pod.
    public var uid: String
    /// `spec.nodeName`: nil until the pod is bound.
    public var nodeName: String?
    /// `status.phase`: `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown` (`Pending` when
    /// absent, as the API server sets it on creation).
    public var phase: String
    /// The pod's effective CPU request in cores, as the scheduler counts it: the larger of the
    /// containers' sum (with restartable init containers, the sidecars) and what any init
    /// container needs while it runs (with the sidecars started before it), plus
    /// `spec.overhead.cpu`. A container without a CPU request adds nothing.
    public var cpuRequestCores: Double
    /// The kind of the controlling owner (`Job`, `ReplicaSet`, `DaemonSet`), if any.
    public var ownerKind: String?
    /// The name of the controlling owner, if any.
    public var ownerName: String?
    /// `status.startTime` (the kubelet took the pod on), unix milliseconds.
    public var startMilliseconds: Int64?
    /// For a pod that ended (`Succeeded`, `Failed`): the latest `finishedAt` of its
    /// containers, unix milliseconds.
    public var finishMilliseconds: Int64?

    /// Creates a summary.
    public init(
        namespace: String, name: String, uid: String, nodeName: String?, phase: String, cpuRequestCores: Double,
        ownerKind: String? = nil, ownerName: String? = nil, startMilliseconds: Int64? = nil,
        finishMilliseconds: Int64? = nil
    ) {
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.nodeName = nodeName
        self.phase = phase
        self.cpuRequestCores = cpuRequestCores
        self.ownerKind = ownerKind
        self.ownerName = ownerName
        self.startMilliseconds = startMilliseconds
        self.finishMilliseconds = finishMilliseconds
    }

    /// Reads a Pod object; nil without a name or namespace, or when a CPU request or the
    /// overhead is not a well-formed quantity (the API server accepts none such, so the object
    /// is not a pod as the API serves it, and a request read without it would be wrong).
    public init?(json: JSONValue) {
        guard let metadata = json["metadata"], let name = metadata["name"]?.string, !name.isEmpty,
            let namespace = metadata["namespace"]?.string, !namespace.isEmpty
        else { return nil }
        let spec = json["spec"]
        guard let request = Self.effectiveCPURequest(spec: spec) else { return nil }
        let owner = metadata["ownerReferences"]?.array?.first { $0["controller"]?.bool == true }
        let status = json["status"]
        let phase = status?["phase"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? "Pending"
        var finish: Int64?
        if phase == "Succeeded" || phase == "Failed" {
            finish = (status?["containerStatuses"]?.array ?? [])
                .compactMap {
                    $0["state"]?["terminated"]?["finishedAt"]?.string.flatMap(KubernetesTimestamp.milliseconds)
                }
                .max()
        }
        let node = spec?["nodeName"]?.string
        self.init(
            namespace: namespace, name: name, uid: metadata["uid"]?.string ?? "",
            nodeName: node?.isEmpty == false ? node : nil, phase: phase, cpuRequestCores: request,
            ownerKind: owner?["kind"]?.string, ownerName: owner?["name"]?.string,
            startMilliseconds: status?["startTime"]?.string.flatMap(KubernetesTimestamp.milliseconds),
            finishMilliseconds: finish)
    }

    /// The scheduler's effective CPU request of a pod spec; nil when a quantity is malformed.
    static func effectiveCPURequest(spec: JSONValue?) -> Double? {
        func request(_ container: JSONValue) -> Double? {
            guard let value = container["resources"]?["requests"]?["cpu"], !value.isNull else { return 0 }
            return value.string.flatMap(CPUQuantity.cores)
        }
        var containersSum = 0.0
        for container in spec?["containers"]?.array ?? [] {
            guard let cores = request(container) else { return nil }
            containersSum += cores
        }
        // Init containers run one after another before the app containers; a restartable one
        // (a sidecar, `restartPolicy: Always`) keeps running beside everything after it.
        var sidecars = 0.0
        var initPeak = 0.0
        for container in spec?["initContainers"]?.array ?? [] {
            guard let cores = request(container) else { return nil }
            if container["restartPolicy"]?.string == "Always" {
                sidecars += cores
                initPeak = max(initPeak, sidecars)
            } else {
                initPeak = max(initPeak, sidecars + cores)
            }
        }
        var overhead = 0.0
        if let value = spec?["overhead"]?["cpu"], !value.isNull {
            guard let cores = value.string.flatMap(CPUQuantity.cores) else { return nil }
            overhead = cores
        }
        return max(containersSum + sidecars, initPeak) + overhead
    }
}
