import CurlClient
import EnergyModel
import Foundation
import JSON
import UserInput

extension KubernetesConnection {
    /// A context of one kubeconfig file (`current-context` when `context` is nil), as kubectl
    /// reads it (see ``kubeconfig(files:context:)``).
    public static func kubeconfig(path: String, context: String? = nil) throws(KubernetesConfigurationError)
        -> KubernetesConnection
    {
        try connection(KubeconfigSet(files: [try KubeconfigFile.read(path)]), context: context)
    }

    /// A context of the kubeconfig files of `$KUBECONFIG`, merged with kubectl's precedence
    /// (the first file that names a cluster, user or context, or sets `current-context`,
    /// wins); files that do not exist are skipped, as kubectl skips them.
    public static func kubeconfig(paths: [String], context: String? = nil) throws(KubernetesConfigurationError)
        -> KubernetesConnection
    {
        var files: [KubeconfigFile] = []
        var seen: Set<String> = []
        for path in paths where !path.isEmpty && seen.insert(path).inserted {
            guard FileManager.default.fileExists(atPath: path) else { continue }
            files.append(try KubeconfigFile.read(path))
        }
        guard !files.isEmpty else {
            throw KubernetesConfigurationError(
                "kubeconfig: none of \(paths.joined(separator: ", ")) exists (KUBECONFIG, or --kubeconfig FILE)")
        }
        return try connection(KubeconfigSet(files: files), context: context)
    }

    /// Parses kubeconfig text; `path` only names the file in messages.
    public static func parseKubeconfig(
        yaml: String, path: String, baseDirectory: String, context requested: String?
    ) throws(KubernetesConfigurationError) -> KubernetesConnection {
        let root: YAMLValue?
        do {
            root = try YAMLDocument.parse(yaml)
        } catch {
            throw KubernetesConfigurationError(kubeconfig: path, error)
        }
        let file = try KubeconfigFile.make(root, path: path, directory: baseDirectory)
        return try connection(KubeconfigSet(files: [file]), context: requested)
    }

    /// What kubectl reads of a context: the cluster's `server`, `certificate-authority(-data)`,
    /// `insecure-skip-tls-verify`, `tls-server-name` and `proxy-url`; the user's
    /// `client-certificate(-data)`/`client-key(-data)`, `tokenFile` (which wins over `token`,
    /// as in client-go), `token`, `exec` plugins and `as`/`as-uid`/`as-groups`/`as-user-extra`.
    /// Relative paths are relative to the folder of the file the entry is in. `auth-provider`
    /// (removed from client-go) is refused with the exec plugin that replaces it; basic auth
    /// is refused.
    static func connection(_ set: KubeconfigSet, context requested: String?) throws(KubernetesConfigurationError)
        -> KubernetesConnection
    {
        let contextName: String
        if let requested {
            contextName = requested
        } else {
            guard let current = try set.currentContext() else {
                throw KubernetesConfigurationError(
                    "\(set.files.count == 1 ? "kubeconfig" : "kubeconfigs") \(set.description): current-context: not set; name a context")
            }
            contextName = current
        }
        let context = try set.named("contexts", contextName, field: "context")
        let (clusterName, userName): (String, String?) = try within(context.file) { () throws(KeyPathError) in
            let reader = KubeconfigReader(baseDirectory: context.file.directory)
            guard let cluster = try reader.string(context.value, "cluster") else {
                throw KeyPathError(context.value.path(of: "cluster"), "missing")
            }
            return (cluster, try reader.string(context.value, "user"))
        }
        let cluster = try set.named("clusters", clusterName, field: "cluster")
        var connection = try within(cluster.file) { () throws(KeyPathError) in try Self.cluster(cluster) }
        connection.origin = "kubeconfig \(context.file.path) (context \(contextName))"
        guard let userName else { return connection }
        let user = try set.named("users", userName, field: "user")
        try within(user.file) { () throws(KeyPathError) in
            try Self.user(user, cluster: cluster, into: &connection)
        }
        return connection
    }

    private static func within<T>(_ file: KubeconfigFile, _ body: () throws(KeyPathError) -> T)
        throws(KubernetesConfigurationError) -> T
    {
        do {
            return try body()
        } catch {
            throw KubernetesConfigurationError(kubeconfig: file.path, error)
        }
    }

    /// The proxy schemes client-go accepts in `proxy-url`.
    static let proxySchemes = ["http", "https", "socks5"]

    private static func cluster(_ entry: KubeconfigSet.Entry) throws(KeyPathError) -> KubernetesConnection {
        let reader = KubeconfigReader(baseDirectory: entry.file.directory)
        let cluster = entry.value
        guard let server = try reader.string(cluster, "server") else {
            throw KeyPathError(cluster.path(of: "server"), "missing")
        }
        // Plain http would send the bearer token and every node patch unencrypted.
        guard server.lowercased().hasPrefix("https://") else {
            throw KeyPathError(cluster.path(of: "server"), "must be an https:// URL, not \"\(server)\"")
        }
        var tls = TLSOptions()
        if let file = try reader.file(cluster, "certificate-authority") {
            tls.caFile = file
        }
        if let data = try reader.base64(cluster, "certificate-authority-data") {
            tls.caPEM = data
        }
        // Verification is skipped only when the file says so explicitly, as kubectl does.
        if try reader.bool(cluster, "insecure-skip-tls-verify") {
            guard tls.caFile == nil, tls.caPEM == nil else {
                throw KeyPathError(
                    cluster.path(of: "insecure-skip-tls-verify"),
                    "cannot be combined with a certificate authority (kubectl refuses this too)")
            }
            tls.insecureSkipVerify = true
        }
        if let name = try reader.string(cluster, "tls-server-name") {
            guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:[]".contains($0)) }) else {
                throw KeyPathError(cluster.path(of: "tls-server-name"), "must be a host name, not \"\(name)\"")
            }
            tls.serverName = name
        }
        var proxy: String?
        if let url = try reader.string(cluster, "proxy-url") {
            let scheme = url.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() } ?? ""
            guard Self.proxySchemes.contains(scheme), url.contains("://"),
                !url.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " })
            else {
                throw KeyPathError(
                    cluster.path(of: "proxy-url"),
                    "must be an http://, https:// or socks5:// URL, not \"\(url.foldedToOneLine(limit: 80))\"")
            }
            proxy = url
        }
        return KubernetesConnection(server: server, tls: tls, proxyURL: proxy)
    }

    private static func user(
        _ entry: KubeconfigSet.Entry, cluster: KubeconfigSet.Entry, into connection: inout KubernetesConnection
    ) throws(KeyPathError) {
        let reader = KubeconfigReader(baseDirectory: entry.file.directory)
        let user = entry.value
        if user.member("auth-provider") != nil {
            let name = (try? reader.string(user.member("auth-provider") ?? user, "name")) ?? nil
            throw KeyPathError(user.path(of: "auth-provider"), Self.authProviderReplacement(name))
        }
        for unsupported in ["username", "password"] where user.member(unsupported) != nil {
            throw KeyPathError(
                user.path(of: unsupported),
                "is not supported (basic auth was removed from Kubernetes); use a token, tokenFile, exec plugin or client certificate")
        }
        if let file = try reader.file(user, "client-certificate") {
            connection.tls.clientCertificateFile = file
        }
        if let data = try reader.base64(user, "client-certificate-data") {
            connection.tls.clientCertificatePEM = data
        }
        if let file = try reader.file(user, "client-key") {
            connection.tls.clientKeyFile = file
        }
        if let data = try reader.base64(user, "client-key-data") {
            connection.tls.clientKeyPEM = data
        }
        let hasCertificate = connection.tls.clientCertificateFile != nil || connection.tls.clientCertificatePEM != nil
        let hasKey = connection.tls.clientKeyFile != nil || connection.tls.clientKeyPEM != nil
        guard hasCertificate == hasKey else {
            throw user.error("client-certificate and client-key must be given together")
        }
        // client-go reads `tokenFile` whenever it is set, also beside `token`, and re-reads it.
        if let file = try reader.file(user, "tokenFile") {
            connection.credentials = .tokenFile(file)
        } else if let token = try reader.headerValue(user, "token") {
            connection.credentials = .token(token)
        } else if let exec = user.member("exec"), !exec.isNull {
            connection.credentials = .exec(
                try Self.execPlugin(YAMLValue(exec.node, keyPath: user.path(of: "exec")), reader: reader, cluster: cluster))
        }
        connection.impersonation = try Self.impersonation(user, reader: reader)
    }

    /// The exec plugin that replaces an `auth-provider` client-go no longer has.
    static func authProviderReplacement(_ name: String?) -> String {
        let plugin: String
        switch name {
        case "gcp": plugin = "gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin)"
        case "azure": plugin = "kubelogin (Azure/kubelogin: kubelogin convert-kubeconfig)"
        case "oidc": plugin = "kubectl oidc-login (int128/kubelogin)"
        default: plugin = "your provider's client-go credential plugin"
        }
        return "\(name.map { "\"\($0)\" " } ?? "")is an auth provider, which client-go removed; "
            + "use an exec plugin instead: \(plugin)"
    }

    private static func execPlugin(_ exec: YAMLValue, reader: KubeconfigReader, cluster: KubeconfigSet.Entry)
        throws(KeyPathError) -> ExecCredentialPlugin
    {
        guard let command = try reader.string(exec, "command") else {
            throw KeyPathError(exec.path(of: "command"), "missing")
        }
        guard let apiVersion = try reader.string(exec, "apiVersion") else {
            throw KeyPathError(exec.path(of: "apiVersion"), "missing (\(ExecCredentialPlugin.apiVersions.joined(separator: " or ")))")
        }
        guard ExecCredentialPlugin.apiVersions.contains(apiVersion) else {
            throw KeyPathError(
                exec.path(of: "apiVersion"),
                "\"\(apiVersion)\" is not supported; use \(ExecCredentialPlugin.apiVersions.joined(separator: " or "))")
        }
        var environment: [(name: String, value: String)] = []
        if let list = exec.member("env"), !list.isNull {
            for variable in try list.list() {
                guard let name = try reader.string(variable, "name") else {
                    throw KeyPathError(variable.path(of: "name"), "missing")
                }
                guard !name.contains("=") else { throw KeyPathError(variable.path(of: "name"), "must not contain \"=\"") }
                let value = try variable.member("value").map { (member) throws(KeyPathError) in
                    member.isNull ? "" : try member.rawString()
                } ?? ""
                environment.append((name, value))
            }
        }
        let mode: ExecCredentialPlugin.InteractiveMode
        if let text = try reader.string(exec, "interactiveMode") {
            guard let parsed = ExecCredentialPlugin.InteractiveMode(rawValue: text) else {
                throw KeyPathError(exec.path(of: "interactiveMode"), "must be Never, IfAvailable or Always, not \"\(text)\"")
            }
            mode = parsed
        } else if apiVersion.hasSuffix("/v1") {
            throw KeyPathError(exec.path(of: "interactiveMode"), "missing (required by \(apiVersion): Never, IfAvailable or Always)")
        } else {
            mode = .ifAvailable
        }
        // A command with a slash is a path, relative to this kubeconfig's folder (clientcmd's
        // ResolveLocalPaths); a bare name is looked up in PATH when it runs.
        let resolved = command.contains("/") ? reader.resolve(command) : command
        return ExecCredentialPlugin(
            apiVersion: apiVersion, command: resolved, arguments: try reader.strings(exec, "args"),
            environment: environment, installHint: try reader.string(exec, "installHint"),
            provideClusterInfo: try reader.bool(exec, "provideClusterInfo"), interactiveMode: mode,
            cluster: try Self.execClusterInfo(cluster))
    }

    /// The `Cluster` of `KUBERNETES_EXEC_INFO`, with the field names of
    /// `client.authentication.k8s.io`: the CA as data even when the kubeconfig names a file.
    private static func execClusterInfo(_ entry: KubeconfigSet.Entry) throws(KeyPathError) -> JSONValue {
        let reader = KubeconfigReader(baseDirectory: entry.file.directory)
        let cluster = entry.value
        var info: [String: JSONValue] = [:]
        if let server = try reader.string(cluster, "server") { info["server"] = .string(server) }
        if let name = try reader.string(cluster, "tls-server-name") { info["tls-server-name"] = .string(name) }
        if try reader.bool(cluster, "insecure-skip-tls-verify") { info["insecure-skip-tls-verify"] = .bool(true) }
        if let data = try reader.base64(cluster, "certificate-authority-data") {
            info["certificate-authority-data"] = .string(Data(data).base64EncodedString())
        } else if let file = try reader.file(cluster, "certificate-authority"),
            let bytes = try? UserFile(path: file).bytes
        {
            info["certificate-authority-data"] = .string(Data(bytes).base64EncodedString())
        }
        if let proxy = try reader.string(cluster, "proxy-url") { info["proxy-url"] = .string(proxy) }
        if try reader.bool(cluster, "disable-compression") { info["disable-compression"] = .bool(true) }
        if let extensions = cluster.member("extensions"), !extensions.isNull {
            for named in try extensions.list()
            where named.member("name")?.scalar?.text == "client.authentication.k8s.io/exec" {
                if let value = named.member("extension") { info["config"] = KubeconfigReader.json(value.node) }
            }
        }
        return .object(info)
    }

    private static func impersonation(_ user: YAMLValue, reader: KubeconfigReader) throws(KeyPathError)
        -> Impersonation?
    {
        let name = try reader.headerValue(user, "as")
        let uid = try reader.headerValue(user, "as-uid")
        let groups = try reader.strings(user, "as-groups")
        for (index, group) in groups.enumerated() {
            try KubeconfigReader.checkHeaderValue(group, at: "\(user.path(of: "as-groups"))[\(index)]")
        }
        var extra: [String: [String]] = [:]
        if let member = user.member("as-user-extra"), !member.isNull {
            for (key, values) in try member.entries() {
                let list = values.isNull ? [] : try values.list().map { (value) throws(KeyPathError) in try value.rawString() }
                for value in list { try KubeconfigReader.checkHeaderValue(value, at: values.keyPath) }
                try KubeconfigReader.checkHeaderValue(key, at: values.keyPath)
                extra[key] = list
            }
        }
        guard let name else {
            guard uid == nil, groups.isEmpty, extra.isEmpty else {
                throw KeyPathError(user.path(of: "as"), "missing: as-uid, as-groups and as-user-extra need a user to act as")
            }
            return nil
        }
        return Impersonation(user: name, uid: uid, groups: groups, extra: extra)
    }
}
