import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Hummingbird
import NIOCore

/// The biller's routes: pull the next claim, view it, submit it, or return it to coding.
struct BillerController: Sendable {
    let stores: APIStores

    func addRoutes(to group: RouterGroup<ClaimFlowRequestContext>) {
        group.post("next") { request, context in
            try await PullNext(stores: stores).pull(.billing, request, context) { lease, principal -> BillerClaimView? in
                try await stores.claims.currentBillerView(
                    encounterID: lease.encounterID, practiceIDs: principal.practiceIDs, audit: context.audit)
            }
        }
        group.get("claims/{id}") { _, context in
            let principal = try context.requirePrincipal()
            let id = try context.pathID()
            guard let claim = try await stores.claims.billerView(claimID: id, practiceIDs: principal.practiceIDs, audit: context.audit)
            else { throw APIError.notFound("claim \(id) not found") }
            return try JSONResponse.make(claim)
        }
        group.get("claims/{id}/x12") { _, context in
            let principal = try context.requirePrincipal()
            let id = try context.pathID()
            // The view check also audits the read: the 837P carries the same PHI.
            guard try await stores.claims.billerView(claimID: id, practiceIDs: principal.practiceIDs, audit: context.audit) != nil
            else { throw APIError.notFound("claim \(id) not found") }
            let text = try await stores.submissions.x12(ofClaim: id, settings: stores.x12)
            return Response(
                status: .ok, headers: [.contentType: "application/edi-x12"], body: .init(byteBuffer: ByteBuffer(string: text))
            )
        }
        group.get("claims/{id}/money") { _, context in
            let principal = try context.requirePrincipal()
            return try JSONResponse.make(
                try await stores.remittances.money(claimID: try context.pathID(), practiceIDs: principal.practiceIDs))
        }
        group.get("exceptions") { request, context in
            let principal = try context.requirePrincipal()
            let status = request.uri.queryParameters.get("status") ?? "open"
            guard status == "open" || status == "all" else {
                throw APIError.validation([.init(path: "query.status", message: "must be open or all")])
            }
            let items = try await stores.remittances.exceptions(open: status == "open", practiceIDs: principal.practiceIDs)
            return try JSONResponse.make(ItemList(items: items))
        }
        group.post("exceptions/{id}/resolve") { request, context in
            let principal = try context.requirePrincipal()
            let body = try await request.decode(ResolveExceptionRequest.self)
            guard let text = context.parameters.get("id"), let id = Int64(text), id > 0 else {
                throw APIError.notFound("exception not found")
            }
            let (exception, _) = try await stores.remittances.resolveException(
                id: id, resolution: body.resolution, practiceIDs: principal.practiceIDs, audit: context.audit)
            return try JSONResponse.make(exception)
        }
        group.get("denials") { request, context in
            let principal = try context.requirePrincipal()
            var queue: DenialQueue?
            if let text = request.uri.queryParameters.get("queue") {
                guard let value = DenialQueue(rawValue: String(text)) else {
                    throw APIError.validation([.init(path: "query.queue", message: "must be coding, billing or patient")])
                }
                queue = value
            }
            let items = try await stores.remittances.openFollowups(queue: queue, practiceIDs: principal.practiceIDs)
            return try JSONResponse.make(ItemList(items: items))
        }
        group.post("claims/{id}/submit") { request, context in
            let principal = try context.requirePrincipal()
            let (body, bytes) = try await request.decodeKeepingBytes(LeaseRequest.self)
            let id = try context.pathID()
            return try await IdempotentWrite(stores: stores).run(request, context, operation: "biller.submit", body: bytes) {
                connection in
                do {
                    try await stores.claims.submit(
                        claimID: id, leaseID: body.leaseID, holder: principal.userID, practiceIDs: principal.practiceIDs,
                        audit: context.audit, on: connection
                    )
                } catch {
                    // This lease submitted the claim already: a retry, answered as the first time.
                    guard
                        try await replayedFinish(
                            error, stores: stores, claimID: id, leaseID: body.leaseID, holder: principal.userID,
                            action: "claim.submitted")
                    else { throw error }
                }
                return try .json(ClaimStatusBody(claimId: id, status: "submitted", stage: .submitted))
            }
        }
        group.post("claims/{id}/return") { request, context in
            let principal = try context.requirePrincipal()
            let (body, bytes) = try await request.decodeKeepingBytes(ReturnClaimRequest.self)
            let id = try context.pathID()
            return try await IdempotentWrite(stores: stores).run(request, context, operation: "biller.return", body: bytes) {
                connection in
                try await stores.claims.returnToCoding(
                    claimID: id, leaseID: body.leaseID, holder: principal.userID, reason: body.reason,
                    practiceIDs: principal.practiceIDs, audit: context.audit, on: connection
                )
                return try .json(ClaimStatusBody(claimId: id, status: "withdrawn", stage: .returnedToCoding))
            }
        }
    }

    struct ItemList<Item: Encodable>: Encodable {
        let items: [Item]
    }

    struct ClaimStatusBody: Encodable {
        let claimId: UUID
        let status: String
        let stage: Stage
    }
}
