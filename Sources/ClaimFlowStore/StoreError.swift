import Foundation

/// A refusal by the store, with a stable code that the API maps to HTTP in one place.
///
/// `detail` names ids and states only: it never carries PHI or database error text.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, stable across releases.
    public enum Code: String, Sendable, Hashable {
        /// The thing does not exist, or is outside the caller's practices.
        case notFound = "not-found"
        /// The lease id is not the current one: expired, released or reassigned.
        case staleLease = "stale-lease"
        /// The encounter is not in a stage that allows the request.
        case wrongStage = "wrong-stage"
        /// The move is not in ClaimFlowCore's transition table.
        case illegalTransition = "illegal-transition"
        /// A unique key already exists with different content.
        case conflict = "conflict"
        /// The user named as assignee cannot take the work (role, practice, skill or inactive).
        case invalidAssignee = "invalid-assignee"
        /// The claim cannot be written as an 837P (the detail says which field).
        case unsubmittable = "unsubmittable"
        /// A value breaks a rule the store checks before writing (the detail names the field).
        case invalidValue = "invalid-value"
        /// Segregation of duties: the user coded this encounter and may not bill it.
        case segregationOfDuties = "segregation-of-duties"
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
