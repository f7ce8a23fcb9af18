/// What a user may do. A user may hold several roles (a small office's coder often bills too).
public enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    case intake
    case coder
    case biller
    case supervisor
    case admin
}
