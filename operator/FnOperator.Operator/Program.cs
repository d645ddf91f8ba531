using FnOperator.Operator.Hosting;

var app = OperatorApp.Build(args);
await app.RunAsync();
