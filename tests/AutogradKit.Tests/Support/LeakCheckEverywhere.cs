using AutogradKit.Tests.Support;

// Every test of the suite fails if it leaves tensors alive behind it (see NoTensorLeaksAttribute);
// a test that must keep tensors says why with [AllowTensorLeaks("…")].
[assembly: NoTensorLeaks]
