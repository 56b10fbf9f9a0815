import Hummingbird
import NIOCore

/// The extender's request context: Hummingbird's basic one plus the connection, so that an
/// answer can wait until the kernel has taken it (``ConnectionLimits/whenDrained(_:)``).
struct ExtenderRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
