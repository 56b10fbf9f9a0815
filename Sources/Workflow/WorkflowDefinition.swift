import JSON

/// An experiment workflow: phases that run one after the other, each as one Kubernetes Job
/// (the thesis: preprocessing, then training, then inference). Read from YAML by
/// `WorkflowDefinition(contentsOfFile:)`; the format is in README.md ("The workflow file").
public struct WorkflowDefinition: Sendable, Equatable {
    /// Names the Jobs: `<name>-<phase>-<run id>`.
    public var name: String
    /// Where the Jobs go unless the command says otherwise.
    public var namespace: String
    /// Image variants each node can run, best first (`tvpc: [gpu, amd64]`): which of a
    /// phase's `images` a node gets.
    public var nodeVariants: [String: [String]]
    /// The image of the placement probe (see `WorkflowRunner`): tiny, on every architecture.
    public var probeImage: String
    /// How long a finished Job stays for `kubectl logs` before the cluster removes it.
    public var ttlSecondsAfterFinished: Int
    /// The shortest `ttlSecondsAfterFinished` accepted: the runner reads a phase's pod after
    /// its Job finished (and again after `--settle`), which a Job deleted at once would beat.
    public static let minimumTTLSeconds = 60
    /// Pod volumes every phase's pod gets (a shared PVC for the data passed between phases).
    public var volumes: [JSONValue]
    /// The phases, in order.
    public var phases: [Phase]

    /// One phase: one Job.
    public struct Phase: Sendable, Equatable {
        /// Names the Job and the `Phase` column.
        public var name: String
        /// The `workload-profile` label: the knowledge-base profile the scheduler scores with.
        public var profile: String
        /// The image for nodes none of whose variants has one of `images`.
        public var image: Image?
        /// Images per variant (`amd64`, `amd64-noavx`, `armv7`, `gpu`, ...).
        public var images: [String: Image]
        /// The container's command (entrypoint); empty keeps the image's.
        public var command: [String]
        /// Its arguments.
        public var args: [String]
        /// Environment variables.
        public var environment: [String: String]
        /// `requests` and `limits` (`cpu: 500m`, `memory: 1Gi`, `nvidia.com/gpu: 1`).
        public var resources: Resources
        /// Container volume mounts, as Kubernetes writes them.
        public var volumeMounts: [JSONValue]
        /// How long the phase may take from Job creation to completion; nil for the default.
        public var timeoutMilliseconds: Int64?
        /// Pod failures the Job retries before the phase fails (evictions do not count).
        public var backoffLimit: Int
        /// How much work the phase does, for the offline cluster (`workflow --simulate`);
        /// ignored on a real cluster.
        public var work: Work?

        /// Whether the image depends on the node (so the phase is placed before it starts).
        public var hasVariantImages: Bool { !images.isEmpty }

        /// The image `node` runs: its first variant with an image, else the phase's `image`.
        public func image(for node: String, variants: [String: [String]]) -> (variant: String?, image: Image)? {
            for variant in variants[node] ?? [] {
                if let image = images[variant] { return (variant, image) }
            }
            return image.map { (nil, $0) }
        }
    }

    /// A phase's amount of work in the knowledge base's units: it takes `units` over the
    /// variant's `performanceRate` (units per `ratePerMilliseconds`).
    public struct Work: Sendable, Equatable {
        /// Units of work (hashes, iterations, ...).
        public var units: Double
        /// The time the knowledge base's rate is per: 1 for per millisecond, 60,000 per minute.
        public var ratePerMilliseconds: Int64

        /// Creates a work amount.
        public init(units: Double, ratePerMilliseconds: Int64) {
            self.units = units
            self.ratePerMilliseconds = ratePerMilliseconds
        }

        /// Seconds the work takes at `performanceRate`; nil for a rate that is not positive.
        public func seconds(atRate performanceRate: Double) -> Double? {
            guard performanceRate.isFinite, performanceRate > 0 else { return nil }
            let seconds = units / performanceRate * Double(ratePerMilliseconds) / 1000
            return seconds.isFinite ? seconds : nil
        }
    }

    /// A container image with what it needs beyond the phase (a GPU build needs the GPU).
    public struct Image: Sendable, Equatable {
        /// The image reference.
        public var reference: String
        /// Added to (and overriding) the phase's resources.
        public var resources: Resources
        /// The pod's `runtimeClassName` (`nvidia` for GPU images on K3s), if any.
        public var runtimeClassName: String?

        /// Creates an image.
        public init(reference: String, resources: Resources = Resources(), runtimeClassName: String? = nil) {
            self.reference = reference
            self.resources = resources
            self.runtimeClassName = runtimeClassName
        }
    }

    /// Container resources: quantities by resource name.
    public struct Resources: Sendable, Equatable {
        /// `requests`.
        public var requests: [String: String]
        /// `limits`.
        public var limits: [String: String]

        /// Creates resources.
        public init(requests: [String: String] = [:], limits: [String: String] = [:]) {
            self.requests = requests
            self.limits = limits
        }

        /// These resources with `other`'s entries on top.
        public func merging(_ other: Resources) -> Resources {
            Resources(
                requests: requests.merging(other.requests) { $1 }, limits: limits.merging(other.limits) { $1 })
        }

        /// `{"requests":{...},"limits":{...}}` without empty parts.
        var json: JSONValue {
            var object: [String: JSONValue] = [:]
            if !requests.isEmpty { object["requests"] = .object(requests.mapValues { .string($0) }) }
            if !limits.isEmpty { object["limits"] = .object(limits.mapValues { .string($0) }) }
            return .object(object)
        }
    }

    /// The phase timeout when neither the file nor the command gives one.
    public static let defaultTimeoutMilliseconds: Int64 = 3_600_000
    /// The default probe image: the pause container, published for every architecture.
    public static let defaultProbeImage = "registry.k8s.io/pause:3.10"
}
