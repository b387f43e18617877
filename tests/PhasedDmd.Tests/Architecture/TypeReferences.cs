using System.Reflection;
using System.Reflection.Emit;

namespace PhasedDmd.Tests.Architecture;

/// <summary>
/// Which types a compiled type refers to: its base type, interfaces, fields, properties, method
/// signatures and every type, method or field token in its method bodies (read from the IL).
/// </summary>
internal static class TypeReferences
{
    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    public static IEnumerable<Type> Of(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null) return;
            if (t.HasElementType) { Add(t.GetElementType()); return; }
            if (t.IsGenericParameter || !found.Add(t)) return;
            if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) Add(a);
        }
        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var f in type.GetFields(All)) Add(f.FieldType);
        foreach (var p in type.GetProperties(All)) Add(p.PropertyType);
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi) Add(mi.ReturnType);
            foreach (var p in m.GetParameters()) Add(p.ParameterType);
            foreach (var t in BodyReferences(m)) Add(t);
        }
        return found;
    }

    /// <summary>The types a compiled type tests or casts its values to (<c>isinst</c>, <c>castclass</c>, <c>unbox.any</c>: <c>is</c>, <c>as</c>, patterns and casts), in any method body.</summary>
    public static IEnumerable<Type> TypeChecks(Type type)
        => type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All))
            .SelectMany(Instructions)
            .Where(i => i.Op == OpCodes.Isinst || i.Op == OpCodes.Castclass || i.Op == OpCodes.Unbox_Any)
            .Select(i => i.Member).OfType<Type>().Distinct();

    private static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        foreach (var (_, member) in Instructions(method))
        {
            if (member is Type t) yield return t;
            else if (member?.DeclaringType is { } owner) yield return owner;
            if (member is MethodInfo { IsGenericMethod: true } generic)
                foreach (var a in generic.GetGenericArguments()) yield return a;
        }
    }

    /// <summary>Every instruction of a method body with the type, method or field it names (null for other operands).</summary>
    private static IEnumerable<(OpCode Op, MemberInfo? Member)> Instructions(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException) { yield break; }
        if (il is null) yield break;
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            short value = il[i++];
            if (value == 0xFE) value = (short)(0xFE00 | il[i++]);
            var op = OpCodesByValue[value];
            var size = op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
            var member = op.OperandType is OperandType.InlineType or OperandType.InlineTok or OperandType.InlineMethod or OperandType.InlineField
                ? Resolve(method.Module, BitConverter.ToInt32(il, i), typeArgs, methodArgs) : null;
            yield return (op, member);
            i += size;
        }
    }

    private static MemberInfo? Resolve(Module module, int token, Type[]? typeArgs, Type[]? methodArgs)
    {
        try { return module.ResolveMember(token, typeArgs, methodArgs); }
        catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or FileNotFoundException) { return null; }
    }
}
