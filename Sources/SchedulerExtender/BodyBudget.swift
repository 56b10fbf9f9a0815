import Synchronization

/// The bytes of request bodies and answers the extender holds at once, over all connections.
///
/// A body is read chunk by chunk into a ``Reservation``; a chunk that does not fit refuses
/// the request at once (503) rather than waiting, so clients that send slowly, stall halfway
/// or never read their answer hold at most the budget together, and never delay a request
/// that fits. The answer's bytes replace the request's in its reservation (an answer that does
/// not fit is not sent: 503), which is given back once the answer has gone to the kernel, or
/// when the connection dies and the reservation with it.
final class BodyBudget: Sendable {
    /// The most bytes held at once.
    let limit: Int
    private let used = Mutex(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// A reservation that holds nothing yet.
    func makeReservation() -> Reservation {
        Reservation(budget: self)
    }

    fileprivate func take(_ count: Int) -> Bool {
        used.withLock { used in
            guard used + count <= limit else { return false }
            used += count
            return true
        }
    }

    fileprivate func giveBack(_ count: Int) {
        used.withLock { $0 -= count }
    }

    /// The bytes one request holds, given back by ``release()`` or when it is dropped.
    final class Reservation: Sendable {
        private let budget: BodyBudget
        private let held = Mutex(0)

        fileprivate init(budget: BodyBudget) {
            self.budget = budget
        }

        deinit {
            release()
        }

        /// Takes `count` more bytes if they fit in the budget.
        func take(_ count: Int) -> Bool {
            guard budget.take(count) else { return false }
            held.withLock { $0 += count }
            return true
        }

        /// Gives back what is held and takes `count` bytes instead, if they fit: the answer
        /// replaces the body it came from. An answer can be many times its request (a filter
        /// over bare node names lists each one with a reason), so answers waiting for clients
        /// that do not read must not pile up beyond the budget either.
        func exchange(for count: Int) -> Bool {
            release()
            return take(count)
        }

        /// Gives back everything held.
        func release() {
            let count = held.withLock { held in
                defer { held = 0 }
                return held
            }
            if count > 0 { budget.giveBack(count) }
        }
    }
}
