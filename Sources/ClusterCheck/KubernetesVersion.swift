/// A Kubernetes release as versions and image tags write it: `v1.33.4+k3s1`, `v1.34.1`.
public struct KubernetesVersion: Sendable, Equatable, CustomStringConvertible {
    /// `1`.
    public var major: Int
    /// `33`.
    public var minor: Int
    /// `4`; 0 when not written.
    public var patch: Int

    /// Creates a version.
    public init(major: Int, minor: Int, patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Reads `v1.33.4+k3s1`, `1.33`, `v1.34.1-eks-123`; nil for anything else.
    public init?(_ text: String) {
        var rest = Substring(text)
        if rest.hasPrefix("v") { rest = rest.dropFirst() }
        let core = rest.prefix { $0.isNumber || $0 == "." }
        let parts = core.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= 3, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        let patch = parts.count == 3 ? Int(parts[2]) : 0
        guard let patch else { return nil }
        self.init(major: major, minor: minor, patch: patch)
    }

    /// `v1.33.4`.
    public var description: String { "v\(major).\(minor).\(patch)" }

    /// Whether a kube-scheduler of this version may serve an API server of `server`'s: the
    /// version-skew policy lets it be one minor version older, never newer.
    public func isSchedulerWithinSkew(of server: KubernetesVersion) -> Bool {
        major == server.major && minor <= server.minor && minor >= server.minor - 1
    }
}
