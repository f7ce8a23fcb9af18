import Foundation
import Hummingbird
import NIOCore

/// `GET /dashboard` and its files: the supervisor's page, served by ClaimFlow itself (nothing
/// from a CDN). The page holds no data; it asks the supervisor for a token and calls the API.
struct DashboardController: Sendable {
    /// Serves the files from this folder instead of the built-in copies, when set: for working
    /// on the page without rebuilding (`CLAIMFLOW_DASHBOARD_DIR`).
    let overrideDirectory: String?

    static let types = [
        "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "svg": "image/svg+xml",
    ]

    func addRoutes(to router: Router<ClaimFlowRequestContext>) {
        router.get("dashboard") { _, _ in try file("dashboard.html") }
        router.get("dashboard/{file}") { _, context in
            guard let name = context.parameters.get("file") else { throw APIError.notFound("no such file") }
            return try file(name)
        }
    }

    private func file(_ name: String) throws -> Response {
        guard name.range(of: "^[a-z0-9_-]+\\.(html|css|js|svg)$", options: .regularExpression) != nil,
            let type = Self.types[String(name.split(separator: ".").last ?? "")]
        else { throw APIError.notFound("no such file") }
        let text: String?
        if let overrideDirectory {
            text = try? String(contentsOfFile: "\(overrideDirectory)/\(name)", encoding: .utf8)
        } else {
            text = embeddedAssetFiles.first { $0.name == name }?.text
        }
        guard let text else { throw APIError.notFound("no such file") }
        return Response(
            status: .ok,
            headers: [
                .contentType: type,
                .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
                .cacheControl: "no-store",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
