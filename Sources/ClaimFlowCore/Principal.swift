public import Foundation

/// The authenticated user behind a request: who they are, what they may do, and where.
public struct Principal: Sendable, Hashable {
    public let userID: UUID
    public let username: String
    public let roles: Set<Role>
    public let practiceIDs: Set<UUID>
    public let skills: Set<String>

    public init(userID: UUID, username: String, roles: Set<Role>, practiceIDs: Set<UUID>, skills: Set<String>) {
        self.userID = userID
        self.username = username
        self.roles = roles
        self.practiceIDs = practiceIDs
        self.skills = skills
    }

    /// Whether the user holds any of `roles`.
    public func hasAny(of roles: Set<Role>) -> Bool { !self.roles.isDisjoint(with: roles) }
}
