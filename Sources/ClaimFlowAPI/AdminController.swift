import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird

/// The administrator's routes: users and their tokens, practices, providers and payers.
/// An administrator manages the users and providers of their own practices.
struct AdminController: Sendable {
    let users: UserStore
    let practices: PracticeStore

    struct UserBody: Encodable {
        let id: UUID
        let username: String
        let displayName: String
        let roles: [String]
        let practices: [String]
        let skills: [String]
        let active: Bool
    }

    struct IssuedToken: Encodable {
        let userId: UUID
        /// Shown once: only its digest is stored.
        let token: String
    }

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.get("users") { _, context in
            let principal = try context.requirePrincipal()
            let codes = try await practiceCodes(principal.practiceIDs)
            let list = try await users.users(inAnyOf: principal.practiceIDs).map { body($0, codes: codes) }
            return try JSONResponse.make(["users": list])
        }
        group.post("users") { request, context in
            let principal = try context.requirePrincipal()
            var reader = try await JSONBody.object(request)
            let username = reader.string(
                "username", maxLength: 63, pattern: "[a-z0-9][a-z0-9._-]{1,62}", expected: "2-63 lower-case letters, digits, dots, dashes"
            )
            let displayName = reader.string("display_name", maxLength: 200)
            let roles = stringList(&reader, "roles", maxCount: 5) { Role(rawValue: $0) != nil }
            let practiceCodes = stringList(&reader, "practices", maxCount: 100) { _ in true }
            let skills = stringList(&reader, "skills", required: false, maxCount: 50) {
                $0.range(of: "^[a-z][a-z0-9_]{1,40}$", options: .regularExpression) != nil
            }
            let active = reader.bool("active", required: false) ?? true
            reader.rejectUnknownFields()
            try reader.findings.throwIfAny()
            guard let username, let displayName, let roles, let practiceCodes else { throw APIError.validation(reader.findings.items) }
            var practiceIDs: Set<UUID> = []
            for (index, code) in practiceCodes.enumerated() {
                guard let id = try await practices.practiceID(code: code, within: principal.practiceIDs) else {
                    throw APIError.validation([.init(path: "$.practices[\(index)]", message: "is not one of your practices")])
                }
                practiceIDs.insert(id)
            }
            let id = try await users.upsert(
                User(
                    username: username, displayName: displayName, roles: Set(roles.compactMap(Role.init(rawValue:))),
                    practiceIDs: practiceIDs, skills: Set(skills ?? []), active: active
                ),
                audit: context.audit
            )
            return try JSONResponse.make(["id": id], status: .created)
        }
        group.get("users/{id}/tokens") { _, context in
            let id = try await manageableUser(context)
            return try JSONResponse.make(["tokens": try await users.tokens(of: id)])
        }
        group.post("users/{id}/tokens") { request, context in
            let id = try await manageableUser(context)
            var reader = try await JSONBody.object(request)
            let label = reader.string("label", required: false, maxLength: 200) ?? ""
            reader.rejectUnknownFields()
            try reader.findings.throwIfAny()
            let token = try await users.issueToken(userID: id, label: label, audit: context.audit)
            return try JSONResponse.make(IssuedToken(userId: id, token: token), status: .created)
        }
        group.post("users/{id}/tokens/{token}/revoke") { _, context in
            let id = try await manageableUser(context)
            guard let tokenText = context.parameters.get("token"), let tokenID = UUID(uuidString: tokenText) else {
                throw APIError.notFound("no such token")
            }
            try await users.revokeToken(tokenID, of: id, audit: context.audit)
            return try JSONResponse.make(["revoked": tokenID])
        }
        group.get("practices") { _, context in
            let principal = try context.requirePrincipal()
            return try JSONResponse.make(["practices": try await practices.practices(principal.practiceIDs)])
        }
        group.post("practices") { request, context in
            let principal = try context.requirePrincipal()
            var reader = try await JSONBody.object(request)
            let code = reader.string(
                "code", maxLength: 20, pattern: "[A-Z0-9_-]{2,20}", expected: "2-20 upper-case letters, digits, _ or -")
            let name = reader.string("name", maxLength: 200)
            let npi = reader.string("npi", maxLength: 10, check: { NPI($0) != nil }, expected: "a valid 10-digit NPI")
            let taxID = reader.string("tax_id", maxLength: 9, pattern: "[0-9]{9}", expected: "9 digits")
            let taxonomy = reader.string("taxonomy", maxLength: 10, pattern: "[0-9A-Z]{9}X", expected: "a 10-character taxonomy code")
            var address: PostalAddress?
            if var addressReader = reader.object("address") {
                address = IntakeController.address(&addressReader)
                addressReader.rejectUnknownFields()
            }
            let segregate = reader.bool("segregate_duties", required: false) ?? false
            reader.rejectUnknownFields()
            try reader.findings.throwIfAny()
            guard let code, let name, let npi, let taxID, let taxonomy, let address else {
                throw APIError.validation(reader.findings.items)
            }
            if try await practices.id(forCode: code) != nil {
                throw APIError.conflict(type: "conflict", "practice \(code) already exists")
            }
            let id = try await practices.upsert(
                Practice(code: code, name: name, npi: npi, taxID: taxID, taxonomy: taxonomy, address: address, segregateDuties: segregate),
                audit: context.audit
            )
            // The administrator who creates a practice manages it.
            if let me = try await users.user(id: principal.userID) {
                var updated = me
                updated.practiceIDs.insert(id)
                _ = try await users.upsert(updated, audit: context.audit)
            }
            return try JSONResponse.make(["id": id], status: .created)
        }
        group.get("practices/{code}/providers") { _, context in
            let practiceID = try await managedPractice(context)
            return try JSONResponse.make(["providers": try await practices.providers(practiceID: practiceID)])
        }
        group.post("practices/{code}/providers") { request, context in
            let practiceID = try await managedPractice(context)
            var reader = try await JSONBody.object(request)
            let npi = reader.string("npi", maxLength: 10, check: { NPI($0) != nil }, expected: "a valid 10-digit NPI")
            let first = reader.string("first_name", maxLength: 35)
            let last = reader.string("last_name", maxLength: 60)
            let taxonomy = reader.string(
                "taxonomy", required: false, maxLength: 10, pattern: "[0-9A-Z]{9}X", expected: "a 10-character taxonomy code"
            )
            reader.rejectUnknownFields()
            try reader.findings.throwIfAny()
            guard let npi, let first, let last else { throw APIError.validation(reader.findings.items) }
            let id = try await practices.upsert(
                Provider(practiceID: practiceID, npi: npi, firstName: first, lastName: last, taxonomy: taxonomy),
                audit: context.audit
            )
            return try JSONResponse.make(["id": id], status: .created)
        }
        group.get("payers") { _, _ in
            try JSONResponse.make(["payers": try await practices.payers()])
        }
        group.post("payers") { request, context in
            var reader = try await JSONBody.object(request)
            let code = reader.string("payer_code", maxLength: 80, pattern: "[A-Za-z0-9]{2,80}", expected: "2-80 letters or digits")
            let name = reader.string("name", maxLength: 60)
            let limit = reader.int("filing_limit_days", required: false, range: 1...3650) ?? 365
            reader.rejectUnknownFields()
            try reader.findings.throwIfAny()
            guard let code, let name else { throw APIError.validation(reader.findings.items) }
            let id = try await practices.upsert(Payer(payerCode: code, name: name, filingLimitDays: limit), audit: context.audit)
            return try JSONResponse.make(["id": id], status: .created)
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
            uniqueKeysWithValues: try await practices.practices(ids).compactMap { practice in
                practice.id.map { ($0, practice.code) }
            })
    }

    /// The `{id}` user, who must share a practice with the administrator.
    private func manageableUser(_ context: ClaimFlowRequestContext) async throws -> UUID {
        let principal = try context.requirePrincipal()
        let id = try CoderController.pathID(context)
        guard try await users.users(inAnyOf: principal.practiceIDs).contains(where: { $0.id == id }) else {
            throw APIError.notFound("user \(id) not found")
        }
        return id
    }

    /// The `{code}` practice, which must be one of the administrator's.
    private func managedPractice(_ context: ClaimFlowRequestContext) async throws -> UUID {
        let principal = try context.requirePrincipal()
        guard let code = context.parameters.get("code"),
            let id = try await practices.practiceID(code: code, within: principal.practiceIDs)
        else { throw APIError.notFound("practice not found") }
        return id
    }

    private func stringList(
        _ reader: inout FieldReader,
        _ key: String,
        required: Bool = true,
        maxCount: Int,
        valid: (String) -> Bool
    ) -> [String]? {
        guard let elements = reader.array(key, required: required, maxCount: maxCount) else { return nil }
        var result: [String] = []
        for (path, value) in elements {
            guard case .string(let text) = value, valid(text) else {
                reader.findings.add(path, "is not a valid entry")
                continue
            }
            result.append(text)
        }
        return result
    }
}
