import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";
import { ApiError } from "./api/client";
import { captureTokenFromHash } from "./api/token";
import { Layout } from "./components/Layout";
import { RunsPage } from "./routes/RunsPage";
import { Loading } from "./components/States";
import "./styles.css";

captureTokenFromHash();

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Client errors (404, 422) will not get better by asking again.
      retry: (n, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && n < 2,
      refetchOnWindowFocus: false,
    },
  },
});

// The chart and the image viewer are loaded on demand so the runs page stays light.
const router = createBrowserRouter([
  {
    element: <Layout />,
    hydrateFallbackElement: <Loading />,
    children: [
      { path: "/", element: <RunsPage /> },
      { path: "/runs/:runId", lazy: async () => ({ Component: (await import("./routes/RunPage")).RunPage }) },
      {
        path: "/runs/:runId/images/:imageId",
        lazy: async () => ({ Component: (await import("./routes/ImagePage")).ImagePage }),
      },
      { path: "*", element: <p className="empty">No such page. <a href="/">Back to runs</a></p> },
    ],
  },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
