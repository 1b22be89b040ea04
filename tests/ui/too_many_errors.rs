// At most 50 errors per invocation, then one saying how many more there are.
axonal::network! {
    N { input 2; bogus0; bogus1; bogus2; bogus3; bogus4; bogus5; bogus6; bogus7; bogus8; bogus9; bogus10; bogus11; bogus12; bogus13; bogus14; bogus15; bogus16; bogus17; bogus18; bogus19; bogus20; bogus21; bogus22; bogus23; bogus24; bogus25; bogus26; bogus27; bogus28; bogus29; bogus30; bogus31; bogus32; bogus33; bogus34; bogus35; bogus36; bogus37; bogus38; bogus39; bogus40; bogus41; bogus42; bogus43; bogus44; bogus45; bogus46; bogus47; bogus48; bogus49; bogus50; bogus51; bogus52; }
}

fn main() {}
