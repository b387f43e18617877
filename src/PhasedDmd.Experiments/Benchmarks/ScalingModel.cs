namespace PhasedDmd.Experiments.Benchmarks;

/// <summary>
/// A throughput model for R data-parallel ranks, each with its own cores, fitted to three
/// measurements at one global batch B: t₁ (1 rank × 1 thread) and, on 2 ranks × 1 thread, the update
/// time T₂ with its all-reduce share a. Assumptions: an update's compute is f + k·b for a per-rank
/// batch b (f: the batch-independent part — small ops, the optimizer, framework overhead), so
/// c₂ = T₂(1 − a) = f + k·B/2 and t₁ = f + k·B give f = 2c₂ − t₁; the all-reduce is bandwidth-bound on a
/// ring, A(R) = A₂ · 2(R − 1)/R with A₂ = a·T₂ (so it grows towards 2A₂); and the ranks do not share
/// cores or memory bandwidth (on one 2-core machine they do, so the fit is conservative).
/// Then T(R) = f + (t₁ − f)/R + A(R), and the speed-up over one rank is t₁ / T(R).
/// </summary>
public sealed record ScalingModel(double OneRankSeconds, double FixedSeconds, double TwoRankAllreduceSeconds, List<ScalingPoint> Predictions)
{
    public static ScalingModel? Fit(IReadOnlyList<ParallelMeasurement> rows, string model)
    {
        var one = rows.FirstOrDefault(r => r.Model == model && r.Ranks == 1 && r.ThreadsPerRank == 1);
        var two = rows.FirstOrDefault(r => r.Model == model && r.Ranks == 2 && r.ThreadsPerRank == 1);
        if (one is null || two is null) return null;
        var t1 = one.MedianSeconds;
        var allreduce = two.AllreduceShare * two.MedianSeconds;
        var compute2 = two.MedianSeconds - allreduce;
        var f = Math.Clamp(2 * compute2 - t1, 0, t1);
        var points = new[] { 1, 2, 4, 8, 16, 64 }.Select(r =>
        {
            var t = f + (t1 - f) / r + (r == 1 ? 0 : allreduce * 2 * (r - 1) / r);
            return new ScalingPoint(r, t, t1 / t, t1 / t / r);
        }).ToList();
        return new ScalingModel(t1, f, allreduce, points);
    }
}

/// <summary>The model's prediction for <see cref="Ranks"/> ranks: seconds per update, speed-up over one rank, and efficiency (speed-up / ranks).</summary>
public sealed record ScalingPoint(int Ranks, double Seconds, double Speedup, double Efficiency);
