namespace FnOperator.KubeApiServer.Validation.Cel;

/// <summary>
/// Recursive-descent parser for the CEL subset: ?: || &amp;&amp; relations (== != &lt; &lt;= &gt; &gt;= in) + - * / %
/// unary ! -, member selection, indexing, calls, macros (has, all, exists, exists_one, map, filter), list literals.
/// </summary>
public sealed class CelParser
{
    private static readonly HashSet<string> Macros = ["all", "exists", "exists_one", "map", "filter"];
    private static readonly HashSet<string> Functions = ["size", "int", "string", "startsWith", "endsWith", "contains", "matches"];
    private readonly List<CelToken> tokens;
    private int position;

    private CelParser(string text) => tokens = CelLexer.Tokenize(text);

    public static CelExpr Parse(string text)
    {
        var parser = new CelParser(text);
        var expr = parser.Conditional();
        if (parser.Peek.Kind != CelTokenKind.End)
        {
            throw new CelException($"unexpected '{parser.Peek.Text}' at {parser.Peek.Position}");
        }

        return expr;
    }

    private CelToken Peek => tokens[position];

    private bool Accept(string op)
    {
        if (Peek.Kind == CelTokenKind.Op && Peek.Text == op)
        {
            position++;
            return true;
        }

        return false;
    }

    private void Expect(string op)
    {
        if (!Accept(op))
        {
            throw new CelException($"expected '{op}' at {Peek.Position}, found '{Peek.Text}'");
        }
    }

    private CelExpr Conditional()
    {
        var condition = Or();
        if (!Accept("?"))
        {
            return condition;
        }

        var then = Or();
        Expect(":");
        return new CelConditional(condition, then, Conditional());
    }

    private CelExpr Or() => LeftAssociative(And, "||");

    private CelExpr And() => LeftAssociative(Relation, "&&");

    private CelExpr Relation()
    {
        var left = Additive();
        while (true)
        {
            string? op = null;
            if (Peek.Kind == CelTokenKind.Ident && Peek.Text == "in")
            {
                op = "in";
            }
            else if (Peek.Kind == CelTokenKind.Op && Peek.Text is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                op = Peek.Text;
            }

            if (op is null)
            {
                return left;
            }

            position++;
            left = new CelBinary(op, left, Additive());
        }
    }

    private CelExpr Additive() => LeftAssociative(Multiplicative, "+", "-");

    private CelExpr Multiplicative() => LeftAssociative(Unary, "*", "/", "%");

    private CelExpr LeftAssociative(Func<CelExpr> next, params string[] ops)
    {
        var left = next();
        while (Peek.Kind == CelTokenKind.Op && ops.Contains(Peek.Text))
        {
            var op = tokens[position++].Text;
            left = new CelBinary(op, left, next());
        }

        return left;
    }

    private CelExpr Unary()
    {
        if (Accept("!"))
        {
            return new CelUnary("!", Unary());
        }

        return Accept("-") ? new CelUnary("-", Unary()) : Member();
    }

    private CelExpr Member()
    {
        var expr = Primary();
        while (true)
        {
            if (Accept("."))
            {
                var name = Identifier();
                if (Accept("("))
                {
                    expr = Macros.Contains(name) ? Macro(expr, name) : new CelCall(expr, CheckFunction(name), Arguments());
                }
                else
                {
                    expr = new CelSelect(expr, name, false);
                }
            }
            else if (Accept("["))
            {
                var index = Conditional();
                Expect("]");
                expr = new CelIndex(expr, index);
            }
            else
            {
                return expr;
            }
        }
    }

    private CelMacro Macro(CelExpr target, string name)
    {
        var variable = Identifier();
        Expect(",");
        var first = Conditional();
        if (name == "map" && Accept(","))
        {
            var body = Conditional();
            Expect(")");
            return new CelMacro(target, name, variable, first, body);
        }

        Expect(")");
        return new CelMacro(target, name, variable, null, first);
    }

    private CelExpr Primary()
    {
        var token = tokens[position++];
        switch (token.Kind)
        {
            case CelTokenKind.Int or CelTokenKind.Double or CelTokenKind.String:
                return new CelLiteral(token.Value);
            case CelTokenKind.Ident when token.Text == "true":
                return new CelLiteral(true);
            case CelTokenKind.Ident when token.Text == "false":
                return new CelLiteral(false);
            case CelTokenKind.Ident when token.Text == "null":
                return new CelLiteral(CelNull.Value);
            case CelTokenKind.Ident when token.Text == "has" && Accept("("):
                var argument = Member();
                Expect(")");
                return argument is CelSelect select
                    ? select with { TestOnly = true }
                    : throw new CelException("has() requires a field selection such as has(self.field)");
            case CelTokenKind.Ident when Accept("("):
                return new CelCall(null, CheckFunction(token.Text), Arguments());
            case CelTokenKind.Ident:
                return new CelIdent(token.Text);
            case CelTokenKind.Op when token.Text == "(":
                var inner = Conditional();
                Expect(")");
                return inner;
            case CelTokenKind.Op when token.Text == "[":
                var items = new List<CelExpr>();
                while (!Accept("]"))
                {
                    if (items.Count > 0)
                    {
                        Expect(",");
                    }

                    items.Add(Conditional());
                }

                return new CelList(items);
            default:
                throw new CelException($"unexpected '{token.Text}' at {token.Position}");
        }
    }

    private List<CelExpr> Arguments()
    {
        var args = new List<CelExpr>();
        while (!Accept(")"))
        {
            if (args.Count > 0)
            {
                Expect(",");
            }

            args.Add(Conditional());
        }

        return args;
    }

    private string Identifier()
    {
        var token = tokens[position++];
        return token.Kind == CelTokenKind.Ident ? token.Text : throw new CelException($"expected an identifier at {token.Position}, found '{token.Text}'");
    }

    private static string CheckFunction(string name) =>
        Functions.Contains(name) ? name : throw new CelException($"function '{name}' is outside the supported CEL subset");
}
