/// A small built-in sentiment corpus, **generated and synthetic** (not real reviews), so the
/// sentiment task runs with no download.
///
/// Each review hides one sentiment word among neutral filler. In 30% of the reviews a negation
/// ("not", "never", …) comes early and the sentiment word late, many filler words after it; the
/// label is the word's polarity, flipped by the negation. The sentiment word alone is right 70%
/// of the time; the rest needs "negated" carried across the gap — a long-range cue on which gated
/// cells should beat the plain RNN.
public enum SyntheticSentiment {
    public static let positive = ["good", "great", "wonderful", "superb", "brilliant", "moving", "delightful",
                                  "excellent", "charming", "gripping", "beautiful", "clever"]
    public static let negative = ["bad", "awful", "boring", "terrible", "dull", "weak", "clumsy", "tedious",
                                  "painful", "bland", "messy", "shallow"]
    public static let negations = ["not", "never", "hardly", "nowhere near"]
    static let filler = ["the", "film", "movie", "plot", "story", "acting", "cast", "music", "scenes", "director",
                         "and", "was", "with", "in", "of", "a", "its", "second", "half", "ending", "camera",
                         "dialogue", "characters", "script", "overall", "really", "quite", "this", "that", "it",
                         "i", "found", "felt", "seemed", "to", "me", "at", "times", "honestly", "frankly"]

    /// `count` reviews from `seed`; half with a positive word, half with a negative one, 30% of
    /// each negated, so the labels are balanced.
    /// - gap: range of filler words between a negation and the sentiment word.
    public static func generate(count: Int, seed: UInt64, gap: ClosedRange<Int> = 4...24) -> [LabelledText] {
        var rng = RNG(seed: seed)
        func words(_ n: Int) -> [String] { (0..<n).map { _ in filler[rng.int(below: filler.count)] } }
        var out: [LabelledText] = []
        for i in 0..<count {
            let polarity = i % 2                 // 1 positive word, 0 negative word
            let negated = (i / 2) % 10 < 3
            let word = polarity == 1 ? positive[rng.int(below: positive.count)] : negative[rng.int(below: negative.count)]
            var tokens = words(rng.int(below: 4))
            if negated { tokens.append(negations[rng.int(below: negations.count)]) }
            tokens += words(gap.lowerBound + rng.int(below: gap.count))
            tokens.append(word)
            tokens += words(rng.int(below: 12))
            out.append(LabelledText(text: tokens.joined(separator: " "), label: negated ? 1 - polarity : polarity))
        }
        rng.shuffle(&out)
        return out
    }
}
