import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird

/// The administrator's routes: users and their tokens, practices, providers and payers.
/// An administrator manages the users and providers of their own practices.
struct AdminController: Sendable {
    let stores: APIStores

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.get("users") { _, context in
            let principal = try context.requirePrincipal()
            let codes = try await practiceCodes(principal.practiceIDs)
            let list = try await stores.users.users(inAnyOf: principal.practiceIDs).map { body($0, codes: codes) }
            return try JSONResponse.make(["users": list])
        }
        group.post("users") { request, context in
            let principal = try context.requirePrincipal()
            let body = try await request.decode(CreateUserRequest.self)
            var practiceIDs: Set<UUID> = []
            for (index, code) in body.practices.enumerated() {
                guard let id = try await stores.practices.practiceID(code: code, within: principal.practiceIDs) else {
                    throw APIError.validation([.init(path: "$.practices[\(index)]", message: "is not one of your practices")])
                }
                practiceIDs.insert(id)
            }
            // An administrator cannot lock themself out: their own admin role and active flag stay.
            // A conflict with who the caller is, not a malformed body: 409.
            if body.username == principal.username {
                var findings: [ProblemDetails.Finding] = []
                if !body.roles.contains(.admin) { findings.append(.init(path: "$.roles", message: "must keep your own admin role")) }
                if body.active == false { findings.append(.init(path: "$.active", message: "cannot deactivate yourself")) }
                if !principal.practiceIDs.isSubset(of: practiceIDs) {
                    findings.append(.init(path: "$.practices", message: "must keep every practice you administer"))
                }
                guard findings.isEmpty else {
                    throw ProblemDetails(
                        type: "self-lockout", title: "Conflict", status: .conflict,
                        detail: "an administrator cannot remove their own admin role or practices, or deactivate themself",
                        findings: findings)
                }
            }
            let id = try await stores.users.upsert(
                User(
                    username: body.username, displayName: body.displayName, roles: Set(body.roles),
                    practiceIDs: practiceIDs, skills: Set(body.skills ?? []), active: body.active ?? true
                ),
                managed: principal.practiceIDs, audit: context.audit
            )
            return try JSONResponse.make(["id": id], status: .created)
        }
        group.get("users/{id}/tokens") { _, context in
            let id = try await manageableUser(context)
            return try JSONResponse.make(["tokens": try await stores.users.tokens(of: id)])
        }
        group.post("users/{id}/tokens") { request, context in
            let body = try await request.decode(IssueTokenRequest.self)
            let id = try await manageableUser(context)
            let issued = try await stores.users.issue(
                userID: id, label: body.label ?? "", expiresInDays: body.expiresInDays, audit: context.audit
            )
            return try JSONResponse.make(IssuedToken(userId: id, id: issued.id, token: issued.token), status: .created)
        }
        group.post("users/{id}/tokens/{token}/revoke") { _, context in
            let id = try await manageableUser(context)
            guard let tokenText = context.parameters.get("token"), let tokenID = UUID(uuidString: tokenText) else {
                throw APIError.notFound("no such token")
            }
            try await stores.users.revokeToken(tokenID, of: id, audit: context.audit)
            return try JSONResponse.make(["revoked": tokenID])
        }
        group.get("practices") { _, context in
            let principal = try context.requirePrincipal()
            return try JSONResponse.make(["practices": try await stores.practices.practices(principal.practiceIDs)])
        }
        group.post("practices") { request, context in
            let principal = try context.requirePrincipal()
            let body = try await request.decode(CreatePracticeRequest.self)
            let findings = body.address.findings(at: "$.address")
            guard findings.isEmpty else { throw APIError.validation(findings) }
            let id = try await stores.practices.create(
                Practice(
                    code: body.code, name: body.name, npi: body.npi, taxID: body.taxID, taxonomy: body.taxonomy,
                    address: body.address.address, segregateDuties: body.segregateDuties ?? false,
                    individual: body.individual.map { Practice.Individual(firstName: $0.firstName, lastName: $0.lastName) }
                ),
                audit: context.audit
            )
            // The administrator who creates a practice manages it.
            if let me = try await stores.users.user(id: principal.userID) {
                var updated = me
                updated.practiceIDs.insert(id)
                _ = try await stores.users.upsert(updated, audit: context.audit)
            }
            return try JSONResponse.make(["id": id], status: .created)
        }
        group.put("practices/{code}/lease-cap") { request, context in
            let body = try await request.decode(LeaseCapRequest.self)
            let practiceID = try await managedPractice(context)
            guard try await stores.practices.setLeaseCap(practiceID: practiceID, to: body.leaseCap, audit: context.audit) else {
                throw APIError.notFound("practice not found")
            }
            return try JSONResponse.make(LeaseCapBody(code: context.parameters.get("code") ?? "", leaseCap: body.leaseCap))
        }
        group.get("practices/{code}/providers") { _, context in
            let practiceID = try await managedPractice(context)
            return try JSONResponse.make(["providers": try await stores.practices.providers(practiceID: practiceID)])
        }
        group.post("practices/{code}/providers") { request, context in
            let body = try await request.decode(CreateProviderRequest.self)
            let practiceID = try await managedPractice(context)
            let id = try await stores.practices.upsert(
                Provider(
                    practiceID: practiceID, npi: body.npi, firstName: body.firstName, lastName: body.lastName,
                    taxonomy: body.taxonomy
                ),
                audit: context.audit
            )
            return try JSONResponse.make(["id": id], status: .created)
        }
        group.get("payers") { _, _ in
            try JSONResponse.make(["payers": try await stores.practices.payers()])
        }
        group.post("payers") { request, context in
            let body = try await request.decode(CreatePayerRequest.self)
            let (id, outcome) = try await stores.practices.save(body.change, audit: context.audit)
            return try JSONResponse.make(
                SavedPayer(id: id, outcome: outcome), status: outcome == .created ? .created : .ok)
        }
    }

    private func body(_ user: User, codes: [UUID: String]) -> UserBody {
        UserBody(
            id: user.id ?? UUID(), username: user.username, displayName: user.displayName,
            roles: user.roles.map(\.rawValue).sorted(), practices: user.practiceIDs.compactMap { codes[$0] }.sorted(),
            skills: user.skills.sorted(), active: user.active
        )
    }

    private func practiceCodes(_ ids: Set<UUID>) async throws -> [UUID: String] {
        Dictionary(
            uniqueKeysWithValues: try await stores.practices.practices(ids).compactMap { practice in
                practice.id.map { ($0, practice.code) }
            })
    }

    /// The `{id}` user, who must share a practice with the administrator.
    private func manageableUser(_ context: ClaimFlowRequestContext) async throws -> UUID {
        let principal = try context.requirePrincipal()
        let id = try context.pathID()
        // Every practice of the user must be the administrator's: a user shared with another
        // practice is managed by an administrator of both.
        guard let user = try await stores.users.user(id: id), user.practiceIDs.isSubset(of: principal.practiceIDs) else {
            throw APIError.notFound("user \(id) not found")
        }
        return id
    }

    /// The `{code}` practice, which must be one of the administrator's.
    private func managedPractice(_ context: ClaimFlowRequestContext) async throws -> UUID {
        let principal = try context.requirePrincipal()
        guard let code = context.parameters.get("code"),
            let id = try await stores.practices.practiceID(code: code, within: principal.practiceIDs)
        else { throw APIError.notFound("practice not found") }
        return id
    }

    struct UserBody: Encodable {
        let id: UUID
        let username: String
        let displayName: String
        let roles: [String]
        let practices: [String]
        let skills: [String]
        let active: Bool
    }
    /// `outcome` says whether the payer was created, changed, or already had these values.
    struct SavedPayer: Encodable {
        let id: UUID
        let outcome: SaveOutcome
    }
    struct IssuedToken: Encodable {
        let userId: UUID
        /// The token's id, by which it is listed and revoked.
        let id: UUID
        /// Shown once: only its digest is stored.
        let token: String
    }
}

/// A practice's fair-share cap as the API shows it.
struct LeaseCapBody: Encodable {
    let code: String
    let leaseCap: Int
}
