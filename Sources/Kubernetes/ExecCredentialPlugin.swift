import JSON

/// A kubeconfig user's `exec` credential plugin (`client.authentication.k8s.io/v1` or
/// `v1beta1`), as client-go runs it: the command with its arguments, the caller's environment
/// plus `env` and `KUBERNETES_EXEC_INFO`, standard input only in interactive mode; its standard
/// output is an `ExecCredential` with a bearer token and/or a client certificate, kept until
/// its `expirationTimestamp` and fetched again after a `401`. This is how EKS
/// (`aws eks get-token`), GKE (`gke-gcloud-auth-plugin`), AKS with Entra ID (`kubelogin`),
/// Teleport and OIDC kubeconfigs authenticate.
public struct ExecCredentialPlugin: Sendable, Equatable, CustomStringConvertible {
    /// When the plugin may talk to the user (`interactiveMode`).
    public enum InteractiveMode: String, Sendable, Equatable {
        /// Never: standard input stays closed.
        case never = "Never"
        /// When standard input is a terminal (the default of `v1beta1`).
        case ifAvailable = "IfAvailable"
        /// Always: refused when standard input is not a terminal.
        case always = "Always"
    }

    /// The API versions of `ExecCredential` client-go speaks; `v1alpha1` is gone upstream.
    public static let apiVersions = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"]

    /// `apiVersion` of the `ExecCredential` exchanged.
    public var apiVersion: String
    /// The executable: a name looked up in `PATH`, or a path (a relative one is resolved
    /// against the kubeconfig's folder, as client-go does for commands with a `/`).
    public var command: String
    /// Its arguments.
    public var arguments: [String]
    /// Variables added to the caller's environment, in order.
    public var environment: [(name: String, value: String)]
    /// What to tell a user whose machine lacks the command (`installHint`).
    public var installHint: String?
    /// Whether `KUBERNETES_EXEC_INFO` carries the cluster (`provideClusterInfo`).
    public var provideClusterInfo: Bool
    /// `interactiveMode`.
    public var interactiveMode: InteractiveMode
    /// The `Cluster` of `KUBERNETES_EXEC_INFO` (server, CA data, `tls-server-name`,
    /// `proxy-url`, the cluster's `client.authentication.k8s.io/exec` extension as `config`).
    public var cluster: JSONValue?
    /// How long one run may take before it is killed: a plugin that hangs must not hold
    /// every request for good. Interactive runs (a login in a browser, a device code) get
    /// longer.
    public var timeout: Duration

    /// The bound of a run that cannot ask the user anything.
    public static let defaultTimeout = Duration.seconds(30)
    /// The bound of an interactive run.
    public static let interactiveTimeout = Duration.seconds(300)

    /// Creates a plugin description.
    public init(
        apiVersion: String, command: String, arguments: [String] = [],
        environment: [(name: String, value: String)] = [], installHint: String? = nil,
        provideClusterInfo: Bool = false, interactiveMode: InteractiveMode = .ifAvailable, cluster: JSONValue? = nil,
        timeout: Duration? = nil
    ) {
        self.apiVersion = apiVersion
        self.command = command
        self.arguments = arguments
        self.environment = environment
        self.installHint = installHint
        self.provideClusterInfo = provideClusterInfo
        self.interactiveMode = interactiveMode
        self.cluster = cluster
        self.timeout = timeout ?? (interactiveMode == .never ? Self.defaultTimeout : Self.interactiveTimeout)
    }

    /// Equal when every field is.
    public static func == (lhs: ExecCredentialPlugin, rhs: ExecCredentialPlugin) -> Bool {
        lhs.apiVersion == rhs.apiVersion && lhs.command == rhs.command && lhs.arguments == rhs.arguments
            && lhs.environment.map(\.name) == rhs.environment.map(\.name)
            && lhs.environment.map(\.value) == rhs.environment.map(\.value) && lhs.installHint == rhs.installHint
            && lhs.provideClusterInfo == rhs.provideClusterInfo && lhs.interactiveMode == rhs.interactiveMode
            && lhs.cluster == rhs.cluster && lhs.timeout == rhs.timeout
    }

    /// `exec(COMMAND)`: never the arguments or the environment, which may carry secrets.
    public var description: String { "exec(\(command))" }

    /// The value of `KUBERNETES_EXEC_INFO` for a run.
    func execInfo(interactive: Bool) -> String {
        var spec: [String: JSONValue] = ["interactive": .bool(interactive)]
        if provideClusterInfo, let cluster { spec["cluster"] = cluster }
        let info: JSONValue = [
            "kind": "ExecCredential", "apiVersion": .string(apiVersion), "spec": .object(spec),
        ]
        return String(decoding: info.serialized, as: UTF8.self)
    }
}
