// The docs/api.md example; `npm run build` type-checks it (tsconfig.examples.json).
import { Atrium, ApiError, SessionEndedError, type TokenResponse } from "../src/index";

export async function example(tokens: TokenResponse) {
  const atrium = new Atrium({ baseUrl: "https://atrium.example.com/api/v1" });
  atrium.setTokens(tokens);

  const me = await atrium.call((c) => c.GET("/me"));
  console.log(me.display_name, me.permissions);

  try {
    const conv = await atrium.call((c) => c.POST("/conversations", { body: { title: "Plans" } }));
    await atrium.call((c) =>
      c.POST("/conversations/{conversationId}/messages", {
        params: { path: { conversationId: conv.id } },
        body: { role: "user", content: "Hello" },
      }),
    );
  } catch (e) {
    if (e instanceof ApiError) console.error(e.status, e.detail, e.requestId, e.errors);
    else if (e instanceof SessionEndedError) console.error("sign in again");
    else throw e;
  }
}
