namespace FnOperator.KubeApiServer.Validation.Cel;

/// <summary>A CEL expression of the subset the test server evaluates (see docs/testing.md).</summary>
public abstract record CelExpr;

public sealed record CelLiteral(object? Value) : CelExpr;

public sealed record CelIdent(string Name) : CelExpr;

public sealed record CelList(IReadOnlyList<CelExpr> Items) : CelExpr;

/// <summary><c>operand.field</c>; with <see cref="TestOnly"/> it is <c>has(operand.field)</c>.</summary>
public sealed record CelSelect(CelExpr Operand, string Field, bool TestOnly) : CelExpr;

public sealed record CelIndex(CelExpr Operand, CelExpr Index) : CelExpr;

public sealed record CelUnary(string Op, CelExpr Operand) : CelExpr;

public sealed record CelBinary(string Op, CelExpr Left, CelExpr Right) : CelExpr;

public sealed record CelConditional(CelExpr Condition, CelExpr Then, CelExpr Else) : CelExpr;

/// <summary>A global function (<c>size(x)</c>) when <see cref="Target"/> is null, else a method (<c>x.size()</c>).</summary>
public sealed record CelCall(CelExpr? Target, string Function, IReadOnlyList<CelExpr> Args) : CelExpr;

/// <summary>A comprehension macro: <c>target.all(x, p)</c>, exists, exists_one, map (2 or 3 args), filter.</summary>
public sealed record CelMacro(CelExpr Target, string Macro, string Variable, CelExpr? Filter, CelExpr Body) : CelExpr;

/// <summary>A rule that is not valid CEL or uses something outside the supported subset.</summary>
public sealed class CelException(string message) : Exception(message);

/// <summary>CEL's null value (distinct from "no such key").</summary>
public sealed class CelNull
{
    public static readonly CelNull Value = new();

    private CelNull()
    {
    }

    public override string ToString() => "null";
}
