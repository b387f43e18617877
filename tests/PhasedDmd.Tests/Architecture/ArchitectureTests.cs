using System.Reflection;
using Xunit;

namespace PhasedDmd.Tests.Architecture;

/// <summary>
/// The dependency direction of the code, checked on the compiled assemblies: the core library's
/// folders (namespaces) form layers that only look down, the experiments use the core and never the
/// command line, and no namespace cycle exists anywhere.
/// </summary>
public class ArchitectureTests
{
    /// <summary>The core's namespaces, lowest first; a namespace may use only those in earlier layers.</summary>
    public static readonly string[][] CoreLayers =
    [
        ["PhasedDmd"],                               // InputException
        ["PhasedDmd.Diffusion"],                     // schedules, conversions, the Euler step
        ["PhasedDmd.Models", "PhasedDmd.Data"],      // networks; data, exact mixtures and the task registry
        ["PhasedDmd.Generators"],                    // the student: phase layout, experts, its steps
        ["PhasedDmd.IO"],                            // model directories, checkpoints, JSON
        ["PhasedDmd.Training", "PhasedDmd.Plotting"], // run protocol, runtime, teacher training; figures
        ["PhasedDmd.Sampling"],                      // condition sources, samplers
        ["PhasedDmd.Evaluation"],                    // measures, feature encoders, the evaluation protocols
        ["PhasedDmd.Distillation"],                  // the methods, and the validation monitor that measures them as they train
        ["PhasedDmd.Tasks"],                         // the tasks: data, defaults and measures in one object each
    ];

    private static readonly Assembly Core = typeof(InputException).Assembly;
    private static readonly Assembly Experiments = typeof(PhasedDmd.Experiments.Demo).Assembly;
    private static readonly Assembly Cli = typeof(PhasedDmd.Cli.PhasedDmdApp).Assembly;

    /// <summary>Namespace → the namespaces (of the given assemblies) its types refer to.</summary>
    private static Dictionary<string, HashSet<string>> NamespaceGraph(params Assembly[] assemblies)
    {
        var ours = assemblies.ToHashSet();
        var graph = new Dictionary<string, HashSet<string>>();
        // Types outside any namespace (the compiler's <PrivateImplementationDetails>, top-level Program) are not folders.
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()).Where(t => NamespaceOf(t).Length > 0))
        {
            var from = NamespaceOf(type);
            if (!graph.TryGetValue(from, out var edges)) graph[from] = edges = [];
            foreach (var used in TypeReferences.Of(type).Where(t => ours.Contains(t.Assembly)))
                if (NamespaceOf(used) is { Length: > 0 } to && to != from) edges.Add(to);
        }
        return graph;
    }

    private static string NamespaceOf(Type t)
    {
        while (t.DeclaringType is not null) t = t.DeclaringType;
        return t.Namespace ?? "";
    }

    [Fact]
    public void Core_namespaces_only_use_lower_layers()
    {
        var layerOf = CoreLayers.SelectMany((names, i) => names.Select(n => (n, i))).ToDictionary(p => p.n, p => p.i);
        var graph = NamespaceGraph(Core);
        var unknown = graph.Keys.Where(n => !layerOf.ContainsKey(n)).ToList();
        Assert.True(unknown.Count == 0, $"namespaces not placed in a layer of {nameof(CoreLayers)}: {string.Join(", ", unknown)}");
        var wrong = graph.Where(kv => layerOf.ContainsKey(kv.Key))
            .SelectMany(kv => kv.Value.Where(to => layerOf.TryGetValue(to, out var l) && l >= layerOf[kv.Key]).Select(to => $"{kv.Key} → {to}"))
            .ToList();
        Assert.True(wrong.Count == 0, "references against the layering: " + string.Join("; ", wrong));
    }

    [Fact]
    public void No_namespace_cycle_in_any_project()
    {
        var graph = NamespaceGraph(Core, Experiments, Cli);
        var cycles = StronglyConnected(graph).Where(c => c.Count > 1).Select(c => string.Join(" ↔ ", c.Order())).ToList();
        Assert.True(cycles.Count == 0, "namespace cycles: " + string.Join("; ", cycles));
    }

    [Fact]
    public void Projects_depend_one_way_core_then_experiments_then_the_command_line()
    {
        static string[] Refs(Assembly a) => a.GetReferencedAssemblies().Select(n => n.Name!).ToArray();
        var core = Refs(Core);
        Assert.DoesNotContain(Experiments.GetName().Name, core);
        Assert.DoesNotContain(Cli.GetName().Name, core);
        Assert.DoesNotContain(core, n => n.StartsWith("Spectre", StringComparison.Ordinal));
        var experiments = Refs(Experiments);
        Assert.Contains(Core.GetName().Name, experiments);
        Assert.DoesNotContain(Cli.GetName().Name, experiments);
        Assert.DoesNotContain(experiments, n => n.StartsWith("Spectre", StringComparison.Ordinal));
        Assert.All(Experiments.GetTypes(), t => Assert.StartsWith("PhasedDmd.Experiments", NamespaceOf(t) is { Length: > 0 } n ? n : "PhasedDmd.Experiments"));
    }

    [Fact]
    public void Only_Models_tests_which_kind_of_network_a_spec_is()
    {
        // Code outside Models asks a ModelSpec what it needs (its files, output, conditions …) instead of testing its type.
        var checks = new[] { Core, Experiments, Cli }.SelectMany(a => a.GetTypes())
            .Where(t => NamespaceOf(t) != "PhasedDmd.Models")
            .SelectMany(t => TypeReferences.TypeChecks(t).Where(c => c != typeof(PhasedDmd.Models.ModelSpec) && c.IsAssignableTo(typeof(PhasedDmd.Models.ModelSpec)))
                                                       .Select(c => $"{t.FullName} → {c.Name}"))
            .ToList();
        Assert.True(checks.Count == 0, "spec type checks outside Models: " + string.Join("; ", checks));
    }

    [Fact]
    public void The_checker_sees_type_checks_in_method_bodies()
    {
        Assert.Contains(typeof(PhasedDmd.Models.MlpSpec), TypeReferences.TypeChecks(typeof(SpecTypeCheck)));
    }

    private sealed class SpecTypeCheck
    {
        public static bool IsMlp(PhasedDmd.Models.ModelSpec spec) => spec is PhasedDmd.Models.MlpSpec;
    }

    [Fact]
    public void The_checker_sees_references_made_only_inside_method_bodies()
    {
        // A cycle hidden in a method body (no field or signature names the other type) must still be found.
        var refs = TypeReferences.Of(typeof(BodyOnlyReference)).ToList();
        Assert.Contains(typeof(System.Text.StringBuilder), refs);
    }

    private sealed class BodyOnlyReference
    {
        public override string ToString() => new System.Text.StringBuilder("x").ToString();
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private static List<List<string>> StronglyConnected(Dictionary<string, HashSet<string>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.GetValueOrDefault(v) ?? [])
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
            result.Add(component);
        }
        foreach (var v in graph.Keys.ToList()) if (!index.ContainsKey(v)) Visit(v);
        return result;
    }
}
