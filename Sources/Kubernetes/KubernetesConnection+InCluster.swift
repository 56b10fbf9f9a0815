import CurlClient
import Foundation
import Logging

extension KubernetesConnection {
    /// Where a pod finds its service account: token, cluster CA and namespace.
    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The pod's own service account: `KUBERNETES_SERVICE_HOST`/`_PORT`, the token file
    /// (re-read while running, as the kubelet rotates it) and the cluster CA, which is
    /// verified. `environment` and `directory` are parameters for tests.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = serviceAccountDirectory
    ) throws(KubernetesConfigurationError) -> KubernetesConnection {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubernetesConfigurationError(
                "in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running in a pod?)")
        }
        guard let portNumber = Int(port), (1...65535).contains(portNumber) else {
            throw KubernetesConfigurationError("in-cluster: KUBERNETES_SERVICE_PORT \"\(port)\" is not a port")
        }
        let tokenPath = directory + "/token"
        let caPath = directory + "/ca.crt"
        for path in [tokenPath, caPath] where !FileManager.default.isReadableFile(atPath: path) {
            throw KubernetesConfigurationError("in-cluster: cannot read \(path)")
        }
        // An IPv6 service address needs brackets in a URL.
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return KubernetesConnection(
            server: "https://\(hostPart):\(portNumber)",
            tls: TLSOptions(caFile: caPath),
            credentials: .tokenFile(tokenPath),
            origin: "in-cluster"
        )
    }

    /// Whether `inCluster(environment:directory:)` has what it needs.
    static func inClusterAvailable(environment: [String: String], directory: String) -> Bool {
        environment["KUBERNETES_SERVICE_HOST"].map { !$0.isEmpty } == true
            && environment["KUBERNETES_SERVICE_PORT"].map { !$0.isEmpty } == true
            && FileManager.default.fileExists(atPath: directory + "/token")
    }

    /// The connection `kubectl` would use from here: in-cluster when the service-account
    /// environment and files exist, else the files of `$KUBECONFIG` merged, else
    /// `~/.kube/config`, with its `current-context`.
    public static func automatic(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory directory: String = serviceAccountDirectory
    ) throws(KubernetesConfigurationError) -> KubernetesConnection {
        if inClusterAvailable(environment: environment, directory: directory) {
            return try inCluster(environment: environment, directory: directory)
        }
        return try defaultKubeconfig(environment: environment, context: nil)
    }

    /// `$KUBECONFIG`'s files merged (missing ones skipped), else `~/.kube/config`.
    static func defaultKubeconfig(environment: [String: String], context: String?) throws(KubernetesConfigurationError)
        -> KubernetesConnection
    {
        if environment["KUBECONFIG"].map({ !$0.isEmpty }) == true {
            return try kubeconfig(paths: defaultKubeconfigPaths(environment: environment), context: context)
        }
        return try kubeconfig(path: defaultKubeconfigPath(environment: environment), context: context)
    }

    /// The one choice of connection, for the service and every command: `kubeconfig` (with
    /// `context`, else its `current-context`) when given; a `context` alone names a context of
    /// the default kubeconfig (`$KUBECONFIG`'s files merged, or `~/.kube/config`); with
    /// neither, `automatic`.
    ///
    /// A connection that does not verify the server (`insecure-skip-tls-verify: true`) is
    /// logged once, as a warning on `logger`: it works, but nobody should miss that it is on.
    public static func resolve(
        kubeconfig path: String?,
        context: String?,
        logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory directory: String = serviceAccountDirectory
    ) throws(KubernetesConfigurationError) -> KubernetesConnection {
        let connection =
            if path == nil, context == nil {
                try automatic(environment: environment, serviceAccountDirectory: directory)
            } else if let path {
                try kubeconfig(path: path, context: context)
            } else {
                try defaultKubeconfig(environment: environment, context: context)
            }
        if connection.tls.insecureSkipVerify {
            logger.warning(
                """
                TLS verification of the Kubernetes API server is off (insecure-skip-tls-verify: true): \
                anyone on the way can read the token and answer in the server's name
                """,
                metadata: ["server": "\(connection.server)", "from": "\(connection.origin)"]
            )
        }
        return connection
    }

    /// The first file kubectl would read: the first entry of `$KUBECONFIG`, else
    /// `~/.kube/config`.
    public static func defaultKubeconfigPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        defaultKubeconfigPaths(environment: environment)[0]
    }

    /// The files kubectl merges: the entries of `$KUBECONFIG` (colon-separated, empty ones and
    /// repeats left out), else `~/.kube/config`.
    public static func defaultKubeconfigPaths(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> [String]
    {
        var paths: [String] = []
        for entry in (environment["KUBECONFIG"] ?? "").split(separator: ":", omittingEmptySubsequences: true)
        where !paths.contains(String(entry)) {
            paths.append(String(entry))
        }
        if !paths.isEmpty { return paths }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return [home + "/.kube/config"]
    }
}
