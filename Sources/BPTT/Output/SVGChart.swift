import Foundation

/// A line chart written as standalone SVG: axes with "nice" ticks, axis labels, a title, a
/// legend, one colour per series. Optional logarithmic axes (gradient norms, step sizes) and
/// labelled marker lines.
public struct SVGChart {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Drawn dashed. Dashed series take the palette in their own order, so the i-th dashed
        /// series has the colour of the i-th solid one (pairs such as max / median).
        public var dashed = false
        public init(name: String, points: [(x: Double, y: Double)]) { self.name = name; self.points = points }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series] = []
    public var logY = false
    /// Logarithmic x axis: ticks at the decades; points with x ≤ 0 are left out.
    public var logX = false
    /// Dashed vertical / horizontal lines with a label, e.g. the step a checker uses, a threshold.
    public var verticalMarkers: [(x: Double, label: String)] = []
    public var horizontalMarkers: [(y: Double, label: String)] = []
    public var yRange: ClosedRange<Double>? = nil
    public var markers = false
    /// Ticks on the x axis at whole numbers only (epochs).
    public var integerX = false
    public var width = 720.0, height = 440.0

    /// Colour-blind-safe palette (Okabe–Ito), cycled.
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    /// Charts one above the other in one SVG, each with its own y axis (loss above, accuracy below).
    public static func stacked(_ charts: [SVGChart]) -> String {
        let width = charts.map(\.width).max() ?? 0, height = charts.map(\.height).reduce(0, +)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        var y = 0.0
        for c in charts {
            s += c.render().replacingOccurrences(of: "<svg xmlns=\"http://www.w3.org/2000/svg\" ", with: "<svg x=\"0\" y=\"\(Int(y))\" ")
            y += c.height
        }
        return s + "</svg>\n"
    }

    /// Ticks at 1, 2 or 5 × 10^k covering [lo, hi], about `count` of them.
    public static func niceTicks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        guard hi > lo, lo.isFinite, hi.isFinite else { return [lo] }
        let raw = (hi - lo) / Double(max(count - 1, 1))
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var t = ceil(lo / step - 1e-9) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return out
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1e5 || abs(v) < 1e-3 { return String(format: "%.0e", v) }
        if v == v.rounded() { return String(Int(v)) }
        return String(format: "%g", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    public func render() -> String {
        let (left, right, top, bottom) = (70.0, 170.0, 40.0, 55.0)
        let pw = width - left - right, ph = height - top - bottom
        func visible(_ p: (x: Double, y: Double)) -> Bool { p.x.isFinite && p.y.isFinite && (!logY || p.y > 0) && (!logX || p.x > 0) }
        let all = series.flatMap(\.points).filter(visible)
        func tx(_ x: Double) -> Double { logX ? log10(x) : x }
        var x0 = all.map { tx($0.x) }.min() ?? 0, x1 = all.map { tx($0.x) }.max() ?? 1
        if logX { x0 = floor(x0); x1 = ceil(x1) }
        if x0 == x1 { x0 -= 1; x1 += 1 }
        func ty(_ y: Double) -> Double { logY ? log10(y) : y }
        var y0 = yRange?.lowerBound ?? all.map { ty($0.y) }.min() ?? 0
        var y1 = yRange?.upperBound ?? all.map { ty($0.y) }.max() ?? 1
        if logY { y0 = floor(y0); y1 = ceil(y1) }
        if y0 == y1 { y0 -= 1; y1 += 1 }
        func px(_ x: Double) -> Double { ((left + (tx(x) - x0) / (x1 - x0) * pw) * 100).rounded() / 100 }
        func py(_ y: Double) -> Double { ((top + ph - (ty(y) - y0) / (y1 - y0) * ph) * 100).rounded() / 100 }
        // a title that would run off the canvas (about 0.55 em per character) is centred on the whole
        // width and set smaller, down to 9 px
        let fits = 0.55 * 15 * Double(title.count) <= pw
        let titleX = fits ? left + pw / 2 : width / 2
        let titleSize = fits ? 15 : Int(max(9, min(15, (width - 16) / (0.55 * Double(title.count)))))
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(titleX)" y="22" text-anchor="middle" font-size="\(titleSize)">\(Self.escape(title))</text>

        """
        // grid and ticks
        let xTicks = logX ? stride(from: x0, through: x1, by: max(1, ((x1 - x0) / 10).rounded(.up))).map { $0 }
            : integerX ? Self.niceTicks(x0, x1).filter { $0 == $0.rounded() } : Self.niceTicks(x0, x1)
        for t in xTicks {
            let x = ((left + (t - x0) / (x1 - x0) * pw) * 100).rounded() / 100
            s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + ph)\" stroke=\"#e5e5e5\"/>"
            s += "<line x1=\"\(x)\" y1=\"\(top + ph)\" x2=\"\(x)\" y2=\"\(top + ph + 5)\" stroke=\"black\"/>"
            s += "<text x=\"\(x)\" y=\"\(top + ph + 18)\" text-anchor=\"middle\">\(logX ? "1e\(Int(t))" : Self.label(t))</text>\n"
        }
        let yTicks = logY ? stride(from: y0, through: y1, by: max(1, ((y1 - y0) / 8).rounded(.up))).map { $0 } : Self.niceTicks(y0, y1)
        for t in yTicks {
            let y = ((top + ph - (t - y0) / (y1 - y0) * ph) * 100).rounded() / 100
            s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + pw)\" y2=\"\(y)\" stroke=\"#e5e5e5\"/>"
            s += "<line x1=\"\(left - 5)\" y1=\"\(y)\" x2=\"\(left)\" y2=\"\(y)\" stroke=\"black\"/>"
            s += "<text x=\"\(left - 8)\" y=\"\(y + 4)\" text-anchor=\"end\">\(logY ? "1e\(Int(t))" : Self.label(t))</text>\n"
        }
        // axes
        s += "<line x1=\"\(left)\" y1=\"\(top + ph)\" x2=\"\(left + pw)\" y2=\"\(top + ph)\" stroke=\"black\"/>"
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + ph)\" stroke=\"black\"/>\n"
        s += "<text x=\"\(left + pw / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">\(Self.escape(xLabel))\(logX ? " (log scale)" : "")</text>\n"
        // marker lines, clipped to the plot
        for m in verticalMarkers where m.x.isFinite && (!logX || m.x > 0) {
            let x = px(m.x)
            guard x >= left && x <= left + pw else { continue }
            s += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + ph)\" stroke=\"#555\" stroke-dasharray=\"5,4\"/>"
            s += "<text x=\"\(x - 4)\" y=\"\(top + 14)\" text-anchor=\"end\" fill=\"#333\">\(Self.escape(m.label))</text>\n"
        }
        for m in horizontalMarkers where m.y.isFinite && (!logY || m.y > 0) {
            let y = py(m.y)
            guard y >= top && y <= top + ph else { continue }
            s += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + pw)\" y2=\"\(y)\" stroke=\"#999\" stroke-dasharray=\"2,3\"/>"
            s += "<text x=\"\(left + pw - 4)\" y=\"\(y - 4)\" text-anchor=\"end\" fill=\"#555\">\(Self.escape(m.label))</text>\n"
        }
        s += "<text transform=\"translate(18,\(top + ph / 2)) rotate(-90)\" text-anchor=\"middle\">\(Self.escape(yLabel))\(logY ? " (log scale)" : "")</text>\n"
        // series
        var solidCount = 0, dashedCount = 0
        for (k, ser) in series.enumerated() {
            let colourIndex = ser.dashed ? dashedCount : solidCount
            if ser.dashed { dashedCount += 1 } else { solidCount += 1 }
            let colour = Self.palette[colourIndex % Self.palette.count]
            let dash = ser.dashed ? " stroke-dasharray=\"6,4\"" : ""
            let pts = ser.points.filter(visible)
            let clippedY = { (y: Double) in min(max(py(y), top), top + ph) }
            let path = pts.map { String(format: "%.2f,%.2f", px($0.x), clippedY($0.y)) }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash) points=\"\(path)\"/>\n"
            if markers || pts.count < 30 {
                for p in pts { s += String(format: "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%@\"/>", px(p.x), clippedY(p.y), colour as NSString) }
                s += "\n"
            }
            // legend
            let ly = top + 10 + Double(k) * 20
            s += "<line x1=\"\(left + pw + 15)\" y1=\"\(ly)\" x2=\"\(left + pw + 40)\" y2=\"\(ly)\" stroke=\"\(colour)\" stroke-width=\"3\"\(dash)/>"
            s += "<text x=\"\(left + pw + 46)\" y=\"\(ly + 4)\">\(Self.escape(ser.name))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    public func write(to path: String) throws { try writeFileAtomically(path, render()) }
}
